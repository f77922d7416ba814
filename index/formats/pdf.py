"""PDF: the text layer of every page (pypdf), with each page's span in the joined text.

Pages are joined by a blank line. Inside a page, a line break that only wraps a sentence (the line
does not end a sentence and the next one starts in lower case or with a digit) becomes a space, so
answers read as the sentence does, not as the page's layout; this replaces one character by one
character. A PDF without any text layer (scanned pages) is refused with "no extractable text".
"""

from __future__ import annotations

import io
import logging
import re

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError

from errors import DocumentTooLarge, UnreadableDocument
from index.formats.base import LoadedText, LoadLimits, join_pages, tidy_text

# pypdf logs a warning for every irregularity it repairs; the loader reports what matters.
logging.getLogger("pypdf").setLevel(logging.ERROR)

_WRAPPED_LINE = re.compile(r"(?<=[^\s.!?:;\-])\n(?=[a-z0-9(])")
_JUNK_TITLES = {"", "untitled", "(anonymous)", "anonymous", "(unspecified)", "unspecified", "microsoft word"}


def load_pdf(data: bytes, limits: LoadLimits) -> LoadedText:
    if b"%PDF-" not in data[:1024]:
        raise UnreadableDocument("not a PDF file (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                reader.decrypt("")  # encrypted for permissions only, with an empty user password
            except Exception:  # noqa: BLE001 - pypdf raises many kinds here
                pass
        count = len(reader.pages)
    except FileNotDecryptedError:
        raise UnreadableDocument("the PDF is encrypted with a password") from None
    except Exception as error:  # noqa: BLE001 - pypdf raises many kinds on damaged files
        raise UnreadableDocument(f"not a readable PDF ({error or type(error).__name__})") from None
    if count > limits.max_pages:
        raise DocumentTooLarge(f"the PDF has {count:,} pages, over the limit of {limits.max_pages:,}")
    page_texts: list[str] = []
    total = 0
    for number, page in enumerate(reader.pages, start=1):
        try:
            raw = page.extract_text() or ""
        except FileNotDecryptedError:
            raise UnreadableDocument("the PDF is encrypted with a password") from None
        except Exception as error:  # noqa: BLE001 - a damaged page: pypdf raises anything
            raise UnreadableDocument(
                f"page {number} of the PDF cannot be read ({error or type(error).__name__})"
            ) from None
        text = _WRAPPED_LINE.sub(" ", tidy_text(raw))
        total += len(text) + 2
        if total > limits.max_chars:
            raise DocumentTooLarge(
                f"the PDF's text is over the limit of {limits.max_chars:,} characters (reached on page {number})"
            )
        page_texts.append(text)
    if not any(text.strip() for text in page_texts):
        raise UnreadableDocument(
            f"no extractable text in the PDF ({count} page{'s' if count != 1 else ''}): it may be scanned images "
            "without a text layer; run OCR on it first"
        )
    text, pages = join_pages(page_texts)
    return LoadedText(text=text, content_type="application/pdf", title=_title(reader), pages=pages)


def _title(reader: PdfReader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:  # noqa: BLE001 - damaged metadata is no reason to refuse the text
        return None
    title = " ".join(str(title or "").split())
    return None if title.lower() in _JUNK_TITLES else title
