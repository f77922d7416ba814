"""What every command shares: the consoles, safe printing of stored text, opening the pipeline."""

from __future__ import annotations

import unicodedata

import typer
from rich.console import Console
from rich.text import Text

from errors import IndexLocked, SpanqaError
from qa.pipeline import Pipeline
from qa.settings import get_settings

console = Console()
err_console = Console(stderr=True)


def printable(text: str, *, newlines: bool = True) -> str:
    """`text` with control characters (escape sequences, bells, carriage returns ...) shown as
    `\\x1b`-style escapes, so a stored document cannot drive the terminal. Tabs stay; newlines stay
    unless `newlines` is False (then they are spaces: one line per table cell)."""
    keep = "\t\n" if newlines else "\t"
    out = []
    for ch in text:
        if ch in keep or unicodedata.category(ch) != "Cc":
            out.append(ch)
        elif ch == "\n":
            out.append(" ")
        else:
            out.append(f"\\x{ord(ch):02x}")
    return "".join(out)


def plain(text: str, style: str = "") -> Text:
    """Stored text (a title, an answer) for Rich: never parsed as markup, control characters escaped."""
    return Text(printable(text, newlines=False), style=style)


def error(message: object, *, label: str = "error") -> None:
    """`error: MESSAGE` on stderr; the message is printed as it is (it may quote user input)."""
    err_console.print(Text.assemble((f"{label}:", "red"), " ", printable(str(message))))


def make_pipeline(read_only: bool = False) -> Pipeline:
    """The pipeline the settings configure (tests replace this function to inject parts)."""
    return Pipeline.from_settings(get_settings(), read_only=read_only)


def open_pipeline(read_only: bool = False) -> Pipeline:
    """`make_pipeline`, with a clear message and exit status 2 when it cannot open."""
    try:
        return make_pipeline(read_only)
    except SpanqaError as exc:
        error(exc)
        if isinstance(exc, IndexLocked):
            err_console.print(
                "hint: while `spanqa serve` runs on this data directory, add and delete documents "
                "through its HTTP API (POST/DELETE /documents)"
            )
        raise typer.Exit(2) from None
