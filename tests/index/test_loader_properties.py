"""Property tests of the loaders: whatever bytes or text arrive under a supported name, the loader
either refuses them with one of spanqa's 4xx-class errors or returns non-empty text whose page spans
slice it in order. Never another exception, never a hang (hypothesis' deadline is the hang guard).
Random bytes, random text in each text format, and valid PDF/DOCX files with random bytes flipped."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from errors import DocumentTooLarge, UnreadableDocument
from index.formats.base import LoadedText, LoadLimits
from index.loaders import load_bytes
from tests.fixtures.samples import HTML_PAGE, docx_bytes, pdf_bytes

SUFFIXES = [".txt", ".md", ".html", ".pdf", ".docx"]
LIMITS = LoadLimits(max_chars=200_000, max_pages=50, max_unpacked_bytes=5_000_000)
BOUNDED = settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=20),  # a hang guard, far above any example on a loaded machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PDF = pdf_bytes()
DOCX = docx_bytes()


def load_or_refuse(data: bytes, filename: str) -> LoadedText | None:
    try:
        loaded = load_bytes(data, filename, LIMITS)
    except (UnreadableDocument, DocumentTooLarge) as refused:
        assert str(refused)
        return None
    assert loaded.text.strip()
    assert len(loaded.text) <= LIMITS.max_chars
    position = 0
    for number, page in enumerate(loaded.pages, start=1):
        assert page.number == number and position <= page.start <= page.end <= len(loaded.text)
        position = page.end
    return loaded


@pytest.mark.parametrize("suffix", SUFFIXES)
@BOUNDED
@given(data=st.binary(max_size=4096))
@example(data=b"\xff\xfe\x00")
@example(data=b"PK\x03\x04" + b"\x00" * 40)
@example(data=b"%PDF-1.4\n" + b"\x00" * 100)
def test_random_bytes_are_refused_or_loaded(suffix, data):
    load_or_refuse(data, f"file{suffix}")


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html"])
@BOUNDED
@given(text=st.text(max_size=2000))
@example(text="# T\n\nword" + " " * 5000 + "end")
@example(text='<meta charset="punycode"><p>x</p>')
@example(text="|---|---|\n" * 200)
@example(text="\ud800 lone surrogate")
def test_random_text_is_refused_or_loaded(suffix, text):
    load_or_refuse(text.encode("utf-8", "surrogatepass"), f"file{suffix}")


@pytest.mark.parametrize(
    "name,original", [("report.pdf", PDF), ("handbook.docx", DOCX), ("page.html", HTML_PAGE.encode())]
)
@BOUNDED
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8))
def test_damaged_files_are_refused_or_loaded(name, original, flips):
    data = bytearray(original)
    for position, value in flips:
        data[position % len(data)] = value
    load_or_refuse(bytes(data), name)


@BOUNDED
@given(paragraphs=st.lists(st.text(max_size=300), min_size=1, max_size=5))
def test_docx_with_random_text_loads_its_text(paragraphs):
    import docx

    document = docx.Document()
    written = []
    for paragraph in paragraphs:
        clean = "".join(ch for ch in paragraph if ch >= " " and not 0xD800 <= ord(ch) <= 0xDFFF and ch != "\x7f")
        try:
            document.add_paragraph(clean)
        except ValueError:  # XML cannot hold it: not a DOCX anyone can write
            continue
        written.append(clean)
    buffer = io.BytesIO()
    document.save(buffer)
    assert zipfile.is_zipfile(io.BytesIO(buffer.getvalue()))
    loaded = load_or_refuse(buffer.getvalue(), "random.docx")
    if loaded is not None:
        for paragraph in written:
            assert paragraph.rstrip(" \u00a0") in loaded.text
