"""Files built to hurt the loaders: long runs that made regexes backtrack quadratically, a DOCX zip
bomb that lies about its sizes, compression methods zipfile inflates without a bound, and an HTML page
declaring a codec that is not a page charset. Each is refused with a 4xx-class error or read, quickly."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import tracemalloc
import zipfile

import pytest

from errors import DocumentTooLarge, UnreadableDocument
from index.formats.base import LoadLimits
from index.loaders import load_bytes
from tests.fixtures.samples import REPO, docx_bytes

_PATHOLOGICAL = r"""
import sys
from index.sentences import _FALLBACK_SENTENCE_END
from index.formats.base import tidy_text
from index.formats.html import _main_text
from index.formats.markdown import markdown_to_text
import lxml.html

spaces = " " * 5_000_000
case = sys.argv[1]
if case == "markdown":
    text, _ = markdown_to_text("# T\n\nword" + spaces + "end")
    assert text.endswith("end")
elif case == "tidy":
    assert tidy_text("a" + spaces + "b\nc  \n") == "a" + spaces + "b\nc"
elif case == "table-rule":
    page = "<html><body><article><p>" + "- " * 200_000 + "x</p></article></body></html>"
    _main_text(lxml.html.document_fromstring(page))
elif case == "sentence-end":
    assert list(_FALLBACK_SENTENCE_END.finditer("." * 2_000_000 + "x")) == []
print("done")
"""


@pytest.mark.parametrize("case", ["markdown", "tidy", "table-rule", "sentence-end"])
def test_long_runs_do_not_make_regexes_backtrack(case):
    # Before: 1.8 s for 20,000 spaces, four times longer per doubling (a 5 MB run: hours), holding the GIL.
    # A subprocess, so a regression fails at the (generous) timeout instead of hanging the suite.
    done = subprocess.run(
        [sys.executable, "-c", _PATHOLOGICAL, case], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "done" in done.stdout, done.stderr


def test_markdown_file_of_spaces_loads():
    loaded = load_bytes(b"# Title\n\nword" + b" " * 200_000 + b"end\n", "spaces.md")
    assert loaded.text == "Title\n\nword" + " " * 200_000 + "end"


def forged_docx_bomb(unpacked_mb: int = 100, declared: int = 1000) -> bytes:
    """A real DOCX whose document part is a deflate bomb of `unpacked_mb` MB, with the central
    directory and local header both declaring `declared` bytes."""
    original = zipfile.ZipFile(io.BytesIO(docx_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for info in original.infolist():
            if info.filename != "word/document.xml":
                archive.writestr(info.filename, original.read(info.filename))
        with archive.open("word/document.xml", "w") as part:
            part.write(original.read("word/document.xml"))
            block = b" " * (1024 * 1024)
            for _ in range(unpacked_mb):
                part.write(block)
    data = bytearray(buffer.getvalue())
    name = b"word/document.xml"
    central = struct.unpack_from("<I", data, data.rfind(b"PK\x05\x06") + 16)[0]  # the central directory
    while central != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_len] == name:
            struct.pack_into("<I", data, central + 24, declared)
            local = struct.unpack_from("<I", data, central + 42)[0]
            struct.pack_into("<I", data, local + 22, declared)
        central = data.find(b"PK\x01\x02", central + 4)
    forged = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("word/document.xml")
    assert forged.file_size == declared and forged.compress_size < 200_000
    return bytes(data)


def test_docx_bomb_with_forged_sizes_is_refused_with_bounded_memory():
    bomb = forged_docx_bomb()
    tracemalloc.start()
    try:
        with pytest.raises(DocumentTooLarge, match="zip bomb"):
            load_bytes(bomb, "invoice.docx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Before: python-docx let zipfile inflate the whole part (134 MB for an 87 KB file).
    assert peak < 40 * 1024 * 1024, f"peak {peak:,} bytes"


def test_docx_entry_larger_than_declared_but_small_is_unreadable():
    with pytest.raises(UnreadableDocument, match="declares 1,000 bytes"):
        load_bytes(forged_docx_bomb(unpacked_mb=0, declared=1000), "short.docx")


def test_docx_under_a_total_size_limit_is_refused_as_it_inflates():
    with pytest.raises(DocumentTooLarge, match="limit of 1,000,000 bytes"):
        load_bytes(forged_docx_bomb(unpacked_mb=2), "big.docx", LoadLimits(max_unpacked_bytes=1_000_000))


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_docx_with_bzip2_or_lzma_entries_is_refused(method):
    original = zipfile.ZipFile(io.BytesIO(docx_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for info in original.infolist():
            archive.writestr(info.filename, original.read(info.filename))
    with pytest.raises(UnreadableDocument, match="only stored and deflate"):
        load_bytes(buffer.getvalue(), "packed.docx")


def test_valid_docx_still_loads_from_the_verified_bytes():
    loaded = load_bytes(docx_bytes(), "report.docx")
    assert loaded.text.strip() and loaded.content_type.endswith("document")


@pytest.mark.parametrize("charset", ["punycode", "idna", "utf-7", "base64", "unicode_escape", "no-such-codec"])
def test_html_declaring_a_codec_that_is_no_page_charset_is_read_as_detected(charset):
    page = f'<html><head><meta charset="{charset}"><title>Vell</title></head><body><p>The ferry leaves at seven.</p></body></html>'
    loaded = load_bytes(page.encode("utf-8") + "\u00e9".encode(), "page.html")
    assert "The ferry leaves at seven." in loaded.text and loaded.title == "Vell"


def test_html_with_control_characters_in_its_text_loads():
    # found by the property tests: lxml raised ValueError from drop_tree on a NUL in a text node
    prose = "<p>The ferry leaves at seven.</p>" * 20
    page = (
        f'<html><head><meta charset="utf-8"></head><body><script>x</script>\x00tail \x01\x0c\ufffe{prose}</body></html>'
    )
    loaded = load_bytes(page.encode("utf-8"), "page.html")
    assert "The ferry leaves at seven." in loaded.text and "\x00" not in loaded.text
