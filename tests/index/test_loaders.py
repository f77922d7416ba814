"""Loaders on real files made by real writers: PDF pages, HTML main text, DOCX tables, Markdown as
readable text, text in any common encoding, and every kind of bad file refused with a clear error."""

from __future__ import annotations

import time
import zipfile
from io import BytesIO
from pathlib import Path, PurePosixPath

import pytest

from errors import DocumentTooLarge, UnreadableDocument, UnsupportedFileType
from index.loaders import LoadLimits, content_type_of, is_supported, load_bytes, supported_suffixes
from index.sources import discover, matches
from tests.fixtures.samples import (
    HTML_PAGE,
    LATIN1_TEXT,
    MARKDOWN_NOTE,
    PDF_PAGES,
    corrupt_pdf_bytes,
    docx_bytes,
    encrypted_pdf_bytes,
    pdf_bytes,
    scanned_pdf_bytes,
    zip_bomb_docx_bytes,
)

# ---- PDF -------------------------------------------------------------------------------------


def test_pdf_text_per_page_with_exact_page_spans():
    loaded = load_bytes(pdf_bytes(), "report.pdf")
    assert loaded.content_type == "application/pdf"
    assert loaded.title == "Vell Island Trust annual report"
    assert [page.number for page in loaded.pages] == [1, 2, 3]
    for page, (heading, body) in zip(loaded.pages, PDF_PAGES):
        page_text = loaded.text[page.start : page.end]
        assert page_text.startswith(heading)
        # reportlab wraps the paragraph over lines; the loader joins wrapped lines with spaces
        assert " ".join(page_text.split()) == f"{heading} {body}"
    assert loaded.pages[0].start == 0 and loaded.pages[-1].end == len(loaded.text)
    assert all(a.end <= b.start for a, b in zip(loaded.pages, loaded.pages[1:]))
    treasurer = loaded.text.index("Ingrid Halvorsen")
    assert loaded.pages[1].start <= treasurer < loaded.pages[1].end


def test_pdf_wrapped_lines_become_spaces_but_headings_keep_their_line():
    loaded = load_bytes(pdf_bytes(), "report.pdf")
    page_two = loaded.text[loaded.pages[1].start : loaded.pages[1].end]
    assert page_two.startswith("Finance\nThe treasurer")
    assert "2.4 million kroner" in page_two  # the line broke between "2.4" and "million"


def test_pdf_without_text_layer_is_refused_as_no_extractable_text():
    with pytest.raises(UnreadableDocument, match="no extractable text"):
        load_bytes(scanned_pdf_bytes(), "scan.pdf")


def test_pdf_over_the_page_limit_is_too_large():
    with pytest.raises(DocumentTooLarge, match="3 pages, over the limit of 2"):
        load_bytes(pdf_bytes(), "report.pdf", LoadLimits(max_pages=2))


def test_pdf_over_the_character_limit_is_too_large():
    with pytest.raises(DocumentTooLarge, match="characters"):
        load_bytes(pdf_bytes(), "report.pdf", LoadLimits(max_chars=300))


@pytest.mark.parametrize(
    "data,needle",
    [
        (corrupt_pdf_bytes(), "not a readable PDF"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 40, "not a readable PDF"),
        (b"this is plain text saved with a .pdf name", "not a PDF file"),
        (encrypted_pdf_bytes(), "encrypted"),
    ],
    ids=["truncated", "junk-after-header", "not-pdf", "encrypted"],
)
def test_bad_pdfs_are_unreadable_with_a_reason(data, needle):
    with pytest.raises(UnreadableDocument, match=needle) as caught:
        load_bytes(data, "bad.pdf")
    assert "'bad.pdf'" in str(caught.value)


# ---- HTML ------------------------------------------------------------------------------------


def test_html_main_text_without_navigation_scripts_or_styles():
    loaded = load_bytes(HTML_PAGE.encode(), "news.html")
    assert loaded.content_type == "text/html"
    assert loaded.title == "The lighthouse reopens"  # <title> first
    text = loaded.text
    assert "restoration led by the engineer Margit Olsen." in text
    assert "Tickets cost €12 & children go free." in text  # entities decoded
    for noise in ("SECRET_SCRIPT_TEXT", "NAVIGATION_NEWS_LINK", "font-family", "track()"):
        assert noise not in text
    # paragraphs stay paragraphs
    lines = text.splitlines()
    assert any(line.startswith("The Zorbani lighthouse reopened") for line in lines)
    assert any(line.startswith("The lamp can be seen") for line in lines)


def test_html_title_falls_back_to_h1_and_declared_charset_is_honoured():
    page = "<html><head><meta charset='iso-8859-1'></head><body><h1>Caf\xe9 news</h1><p>Le caf\xe9 ouvre \xe0 sept heures.</p></body></html>"
    loaded = load_bytes(page.encode("latin-1"), "cafe.htm")
    assert loaded.title == "Café news"
    assert "Le café ouvre à sept heures." in loaded.text


def test_html_without_text_is_refused():
    with pytest.raises(UnreadableDocument, match="no text"):
        load_bytes(b"<html><head><script>var x = 1;</script></head><body><nav>Home</nav></body></html>", "empty.html")


# ---- DOCX ------------------------------------------------------------------------------------


def test_docx_paragraphs_and_tables_in_reading_order():
    loaded = load_bytes(docx_bytes(), "handbook.docx")
    assert loaded.title == "Vell Island staff handbook"
    assert loaded.pages == []
    assert loaded.text.splitlines() == [
        "Staff handbook",
        "The wardens work in two shifts. The head warden is Piet Jansen.",
        "Topic | Rule",
        "Mooring | Boats must be moored at the east pier.",
        "Fuel | Diesel is sold by Astrid Moe at the harbour kiosk.",
        "Both rules apply all year.",  # merged across both columns: once
        "The ferry to the mainland leaves at seven in the morning.",
    ]


def test_zip_bomb_named_docx_is_refused_before_unpacking():
    bomb = zip_bomb_docx_bytes(64)
    assert len(bomb) < 200_000
    started = time.perf_counter()
    with pytest.raises(DocumentTooLarge, match="zip bomb"):
        load_bytes(bomb, "invoice.docx")
    assert time.perf_counter() - started < 1.0  # refused from the sizes alone, nothing inflated
    with pytest.raises(DocumentTooLarge, match="unpacks to"):
        load_bytes(bomb, "invoice.docx", LoadLimits(max_unpacked_bytes=32 * 1024 * 1024, max_compression_ratio=1e9))


@pytest.mark.parametrize(
    "data,needle",
    [
        (b"PK\x03\x04 definitely not a zip", "not a valid zip"),
        (b"Just some text in a file called .docx", "not a valid zip"),
    ],
)
def test_bad_docx_is_unreadable(data, needle):
    with pytest.raises(UnreadableDocument, match=needle):
        load_bytes(data, "bad.docx")


def test_zip_without_a_word_document_is_not_a_docx():
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(UnreadableDocument, match="no word/document.xml"):
        load_bytes(buffer.getvalue(), "notes.docx")


# ---- Markdown --------------------------------------------------------------------------------


def test_markdown_is_stored_as_readable_text():
    loaded = load_bytes(MARKDOWN_NOTE.encode(), "notes.md")
    assert loaded.content_type == "text/markdown"
    assert loaded.title == "Harbour notes"
    text = loaded.text
    assert text.startswith("Harbour notes\n\nThe harbour master is Sven Lund; see the staff page.")
    assert "Boats must be moored by 22:00." in text
    assert "- Mooring costs 40 kroner a night\n- Showers are free" in text
    assert "ferry: 07:00" in text
    for markup in ("**", "#", "](", "https://", "`", "author:", "---"):
        assert markup not in text, markup


def test_markdown_tables_images_and_html_blocks():
    source = "| Boat | Skipper |\n|---|---|\n| *Vell I* | Astrid Moe |\n\n![The harbour at dawn](h.png)\n\n<div>Opening <b>hours</b></div>\n"
    loaded = load_bytes(source.encode(), "t.markdown")
    assert loaded.text == "Boat | Skipper\nVell I | Astrid Moe\n\nThe harbour at dawn\n\nOpening hours"


# ---- plain text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data,expected",
    [
        (LATIN1_TEXT.encode("latin-1"), LATIN1_TEXT),
        (
            "¿Dónde está el niño? Mañana será otro día – “sí”.".encode("cp1252"),
            "¿Dónde está el niño? Mañana será otro día – “sí”.",
        ),
        (
            "Zażółć gęślą jaźń. Polska jest krajem w Europie Środkowej.".encode("cp1250"),
            "Zażółć gęślą jaźń. Polska jest krajem w Europie Środkowej.",
        ),
        ("Москва является столицей России.".encode("cp1251"), "Москва является столицей России."),
        ("\ufeffWith a BOM\r\nand Windows line endings\r\n".encode("utf-8"), "With a BOM\nand Windows line endings\n"),
        ("UTF-16 with BOM: café".encode("utf-16"), "UTF-16 with BOM: café"),
        ("UTF-16 without BOM".encode("utf-16-le"), "UTF-16 without BOM"),
        (b"Old Mac line\rendings", "Old Mac line\nendings"),
    ],
    ids=["latin-1", "cp1252", "cp1250", "cp1251", "utf8-bom-crlf", "utf16-bom", "utf16le-no-bom", "cr"],
)
def test_text_in_common_encodings_is_decoded(data, expected):
    loaded = load_bytes(data, "note.txt")
    assert loaded.text == expected and loaded.content_type == "text/plain"


@pytest.mark.parametrize(
    "data,error,needle",
    [
        (b"", UnreadableDocument, "empty"),
        (b"   \n\t  \r\n", UnreadableDocument, "empty"),
        (bytes(range(256)) * 50, UnreadableDocument, "binary"),
        (bytes([7, 200, 3, 250, 1, 128, 9, 255]) * 1000, UnreadableDocument, "binary"),
    ],
    ids=["empty", "blank", "all-bytes", "junk"],
)
def test_bad_text_files_are_refused(data, error, needle):
    with pytest.raises(error, match=needle):
        load_bytes(data, "junk.txt")


def test_fifty_megabyte_single_line_is_refused_fast_by_the_character_limit():
    data = b"x" * (50 * 1024 * 1024)
    started = time.perf_counter()
    with pytest.raises(DocumentTooLarge, match="limit of 5,000,000 characters"):
        load_bytes(data, "one-line.txt")
    assert time.perf_counter() - started < 1.0


def test_unsupported_types_name_the_supported_ones():
    with pytest.raises(UnsupportedFileType, match=r"'\.exe'.*\.docx.*\.pdf"):
        load_bytes(b"MZ\x90\x00", "tool.exe")
    assert {".pdf", ".docx", ".html", ".htm", ".md", ".txt"} <= set(supported_suffixes())
    assert is_supported("A.PDF") and not is_supported("photo.png")
    assert content_type_of("x.docx") == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# ---- finding files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,pattern,expected",
    [
        ("a/b/report.PDF", "*.pdf", True),
        ("a/b/report.pdf", "*.md", False),
        ("drafts/x.md", "drafts", True),
        ("a/drafts/x.md", "drafts", True),
        ("a/drafts/x.md", "drafts/*", False),
        ("a/drafts/x.md", "**/drafts/*", True),
        ("drafts/x.md", "**/drafts/*", True),
        ("reports/2024/q3.pdf", "reports/2024", True),
        ("reports/2023/q3.pdf", "reports/2024/*", False),
    ],
)
def test_glob_matching(path, pattern, expected):
    assert matches(PurePosixPath(path), pattern) is expected


def test_discover_recurses_skips_with_reasons_and_names_files_by_folder(tmp_path):
    root = tmp_path / "handbook"
    (root / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "drafts").mkdir()
    for name in (
        "a.txt",
        "sub/b.md",
        "sub/c.pdf",
        ".hidden.txt",
        ".git/config.txt",
        "drafts/d.txt",
        "pic.png",
        "e.tmp.md",
    ):
        (root / name).write_text("x")
    found = discover([root], exclude=["drafts", "*.tmp.md"], supported=is_supported)
    assert [f.key for f in found.files] == ["handbook/a.txt", "handbook/sub/b.md", "handbook/sub/c.pdf"]
    reasons = {PurePosixPath(s.path.replace("\\", "/")).name: s.reason for s in found.skipped}
    assert reasons == {
        ".git": "hidden folder",
        "drafts": "excluded by 'drafts'",
        ".hidden.txt": "hidden file",
        "e.tmp.md": "excluded by '*.tmp.md'",
        "pic.png": "unsupported type .png",
    }
    only_pdf = discover([root], include=["*.pdf"], supported=is_supported)
    assert [f.key for f in only_pdf.files] == ["handbook/sub/c.pdf"]
    assert discover([tmp_path / "nope"], supported=is_supported).missing == [str(tmp_path / "nope")]


def test_keys_do_not_depend_on_how_the_folder_is_named(tmp_path, monkeypatch):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.txt").write_text("x")
    absolute = discover([root], supported=is_supported).files
    monkeypatch.chdir(tmp_path)
    relative = discover([root.relative_to(tmp_path)], supported=is_supported).files
    monkeypatch.chdir(root)
    dot = discover([Path(".")], supported=is_supported).files
    direct = discover([root / "a.txt"], supported=is_supported).files
    assert (
        {f.key for f in absolute}
        == {f.key for f in relative}
        == {f.key for f in dot}
        == {f.key for f in direct}
        == {"docs/a.txt"}
    )
    twice = discover([root, root / "a.txt"], supported=is_supported)
    assert len(twice.files) == 1
