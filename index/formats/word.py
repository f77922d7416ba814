"""DOCX (python-docx): the body's paragraphs and tables in reading order.

Each paragraph is a line; each table row is a line of its cells joined by " | " (a cell merged over
several columns counted once, nested tables flattened into their cell). Headers, footers and
comments are not part of the text. The zip container is unpacked under a running byte limit
(`index.formats.archive`) and python-docx reads only those verified bytes. The title is the
document's core property `title`, else its first Title or Heading 1 paragraph.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import docx
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from errors import UnreadableDocument
from index.formats.archive import repack_zip, unpack_zip
from index.formats.base import LoadedText, LoadLimits, tidy_text

_MAIN_PART = "word/document.xml"
_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def load_docx(data: bytes, limits: LoadLimits) -> LoadedText:
    entries = unpack_zip(data, limits, "the DOCX file")
    if _MAIN_PART not in entries:
        raise UnreadableDocument(f"not a DOCX file (the zip archive has no {_MAIN_PART})")
    try:  # python-docx reads the verified, counted bytes only, never the original archive
        document = docx.Document(io.BytesIO(repack_zip(entries)))
    except Exception as error:  # noqa: BLE001 - python-docx and lxml raise many kinds on damaged files
        raise UnreadableDocument(f"not a readable DOCX file ({error or type(error).__name__})") from None
    lines: list[str] = []
    heading: str | None = None
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(block.text)
            style = block.style.name if block.style is not None else ""
            if heading is None and style in ("Title", "Heading 1") and block.text.strip():
                heading = " ".join(block.text.split())
        else:
            lines.extend(_table_rows(block))
    title = " ".join((document.core_properties.title or "").split()) or heading
    return LoadedText(text=tidy_text("\n".join(lines)), content_type=_CONTENT_TYPE, title=title)


def _table_rows(table: Table) -> Iterator[str]:
    """A line per row. A cell merged across columns comes back for each of them and is read once;
    one merged down rows comes back in each row and is read in the first (an empty cell after)."""
    above: list[object] = []  # the cells of earlier rows
    for row in table.rows:
        cells: list[str] = []
        this_row: list[object] = []
        for cell in row.cells:
            element = cell._tc
            if this_row and element is this_row[-1]:
                continue
            this_row.append(element)
            cells.append("" if any(element is other for other in above) else _cell_text(cell))
        above.extend(this_row)
        if any(cells):
            yield " | ".join(cells)


def _cell_text(cell: _Cell) -> str:
    parts: list[str] = []
    for block in cell.iter_inner_content():
        if isinstance(block, Paragraph):
            parts.append(block.text)
        else:
            parts.extend(_table_rows(block))
    return " ".join(" ".join(parts).split())
