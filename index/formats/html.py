"""HTML: the main text of the page (trafilatura), without navigation, scripts or styles.

Navigation, scripts, styles and other non-content elements are removed first, then trafilatura
extracts the main content (paragraphs, lists, tables); when it finds none (a tiny page), the text of
the cleaned body is used. Paragraphs stay on lines of their own. The title is the page's `<title>`,
else its first `<h1>`.
"""

from __future__ import annotations

import codecs
import logging
import re

import lxml.html
import trafilatura
from lxml.etree import ParserError

from errors import UnreadableDocument
from index.formats.base import LoadedText, LoadLimits, tidy_text
from index.formats.text import decode_text

# trafilatura logs a warning for every page it finds too short; the loader reports what matters.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

_NOT_CONTENT = (
    "//script|//style|//noscript|//template|//nav|//svg|//canvas|//iframe|//object|//embed"
    "|//*[@role='navigation']|//*[@aria-hidden='true']"
)
_BLOCKS = {
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tr",
    "ul",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_CONTROL_CHARACTERS = dict.fromkeys([*(c for c in range(32) if chr(c) not in "\t\n\r"), 0xFFFE, 0xFFFF])
_NOT_PAGE_CHARSETS = {"punycode", "idna", "utf-7", "raw-unicode-escape", "unicode-escape", "undefined"}
_TABLE_RULE_CHARS = " \t|:-"  # trafilatura's `|---|---|` lines are made of these, with at least one "-"


def load_html(data: bytes, limits: LoadLimits) -> LoadedText:
    # lxml refuses text nodes with control characters (a ValueError deep in drop_tree); they are not text
    source = _decode(data, limits).translate(_CONTROL_CHARACTERS)
    try:
        tree = lxml.html.document_fromstring(source)
    except (ParserError, ValueError) as error:
        raise UnreadableDocument(f"not a readable HTML page ({error})") from None
    title = _title(tree)
    for element in tree.xpath(_NOT_CONTENT):
        element.drop_tree()
    text = _main_text(tree) or _body_text(tree)
    return LoadedText(text=text, content_type="text/html", title=title)


def _decode(data: bytes, limits: LoadLimits) -> str:
    """The page as text: the charset its `<meta>` declares when that decodes, else detected."""
    declared = _META_CHARSET.search(data[:4096])
    charset = _page_charset(declared.group(1).decode("ascii")) if declared else None
    if charset and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode(charset)
        except UnicodeError:  # not only UnicodeDecodeError: some codecs raise plain UnicodeError
            pass
    return decode_text(data, max_chars=limits.max_chars)


def _page_charset(name: str) -> str | None:
    """The codec of a declared charset when it is a character set web pages use: not an unknown
    name, not a bytes-to-bytes codec (base64, zlib), not punycode, IDNA or an escape codec."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_PAGE_CHARSETS:
        return None
    return info.name


def _title(tree: lxml.html.HtmlElement) -> str | None:
    for path in ("//title", "//h1"):
        for element in tree.xpath(path):
            title = " ".join(element.text_content().split())
            if title:
                return title
    return None


def _main_text(tree: lxml.html.HtmlElement) -> str:
    extracted = trafilatura.extract(
        tree,
        output_format="txt",
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        favor_recall=True,
        deduplicate=False,
    )
    return tidy_text("\n".join(line for line in (extracted or "").split("\n") if not _is_table_rule(line)))


def _is_table_rule(line: str) -> bool:
    """A `|---|:--|` line (checked without a regex: `^[ |:-]*-[ |:-]*$` backtracks quadratically)."""
    return "-" in line and not line.strip(_TABLE_RULE_CHARS)


def _body_text(tree: lxml.html.HtmlElement) -> str:
    """All text of the (cleaned) page, a line per block element."""
    parts: list[str] = []

    def walk(element: lxml.html.HtmlElement) -> None:
        block = isinstance(element.tag, str) and element.tag.lower() in _BLOCKS
        if block:
            parts.append("\n")
        if element.text and isinstance(element.tag, str):
            parts.append(element.text)
        for child in element:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if block:
            parts.append("\n")

    body = tree.find("body")
    walk(body if body is not None else tree)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return tidy_text("\n".join(line for line in lines if line))
