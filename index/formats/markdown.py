"""Markdown stored as the readable text a reader sees: no `**`, `#`, link targets or fence markers.

The document is parsed with markdown-it-py (CommonMark plus tables and strikethrough) and its token
stream rendered as plain text: one block per paragraph, heading, code block or table row, blocks
separated by a blank line (list items and table rows by a line break); link and image text kept,
their targets dropped; inline HTML dropped, HTML blocks reduced to their text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import lxml.html
from lxml.etree import ParserError
from markdown_it import MarkdownIt
from markdown_it.token import Token

from index.formats.base import LoadedText, LoadLimits, tidy_text
from index.formats.text import decode_text

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n.*?\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def load_markdown(data: bytes, limits: LoadLimits) -> LoadedText:
    source = decode_text(data, max_chars=limits.max_chars)
    text, title = markdown_to_text(source)
    return LoadedText(text=text, content_type="text/markdown", title=title)


def markdown_to_text(source: str) -> tuple[str, str | None]:
    """The readable text of a Markdown document and its title (the first heading, level 1 preferred)."""
    source = _FRONT_MATTER.sub("", source, count=1)
    renderer = _Renderer()
    renderer.render(_PARSER.parse(source))
    return tidy_text(renderer.output()), renderer.title()


class _Renderer:
    def __init__(self) -> None:
        self._parts: list[str] = []  # blocks and the separators between them
        self._last_tight = False
        self._lists: list[list[int | None]] = []  # per open list: [next number] or [None] (bullets)
        self._item_prefix: str | None = None  # marker for the first block of the current list item
        self._row: list[str] | None = None
        self._in_table = False
        self._headings: list[tuple[int, str]] = []

    def render(self, tokens: Sequence[Token]) -> None:
        heading_level = 0
        for token in tokens:
            kind = token.type
            if kind == "heading_open":
                heading_level = int(token.tag[1:])
            elif kind == "heading_close":
                heading_level = 0
            elif kind in ("bullet_list_open", "ordered_list_open"):
                start = token.attrGet("start")
                self._lists.append([int(start) if start is not None else 1] if kind == "ordered_list_open" else [None])
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self._lists.pop()
            elif kind == "list_item_open":
                counter = self._lists[-1]
                indent = "  " * (len(self._lists) - 1)
                if counter[0] is None:
                    self._item_prefix = f"{indent}- "
                else:
                    self._item_prefix = f"{indent}{counter[0]}. "
                    counter[0] += 1
            elif kind == "table_open":
                self._in_table = True
            elif kind == "table_close":
                self._in_table = False
            elif kind == "tr_open":
                self._row = []
            elif kind == "tr_close":
                self._emit(" | ".join(cell for cell in self._row or []))
                self._row = None
            elif kind == "inline":
                text = _inline_text(token.children or [])
                if self._row is not None:
                    self._row.append(text.strip())
                else:
                    if heading_level:
                        self._headings.append((heading_level, " ".join(text.split())))
                    self._emit(text)
            elif kind in ("fence", "code_block"):
                self._emit(token.content.rstrip("\n"))
            elif kind == "html_block":
                self._emit(_html_text(token.content))

    def _emit(self, text: str) -> None:
        if not text.strip():
            return
        tight = bool(self._lists) or self._in_table  # list items and table rows: one per line
        if self._item_prefix is not None:
            text = self._item_prefix + text
            self._item_prefix = None
        elif self._lists:  # a further paragraph of the same list item
            text = "  " * len(self._lists) + text
        if self._parts:
            self._parts.append("\n" if tight and self._last_tight else "\n\n")
        self._parts.append(text)
        self._last_tight = tight

    def output(self) -> str:
        return "".join(self._parts)

    def title(self) -> str | None:
        if not self._headings:
            return None
        return min(self._headings, key=lambda heading: heading[0])[1] or None


def _inline_text(children: Sequence[Token]) -> str:
    parts: list[str] = []
    for child in children:
        kind = child.type
        if kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        elif kind == "image":
            parts.append(_inline_text(child.children or []) or child.content)
        # link/em/strong/s open and close, html_inline: markup only, nothing to read
    return "".join(parts)


def _html_text(html: str) -> str:
    """The text of an HTML block (comments and scripts give nothing)."""
    try:
        fragment = lxml.html.fragment_fromstring(html, create_parent="div")
    except (ParserError, ValueError):
        return ""
    for element in fragment.xpath(".//script|.//style"):
        element.drop_tree()
    return fragment.text_content().strip()
