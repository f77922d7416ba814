"""`spanqa ask`: one question, its answers with citations (or the API's JSON)."""

from __future__ import annotations

from typing import Annotated, get_args

import typer
from rich.text import Text

from cli.common import console, error, open_pipeline, plain, printable
from errors import SpanqaError
from qa.retriever import Mode


def ask(
    question: Annotated[str, typer.Argument(help="The question")],
    top_k: Annotated[int | None, typer.Option(help="Passages to read")] = None,
    max_answers: Annotated[int | None, typer.Option(help="Answers to show")] = None,
    retrieval: Annotated[str | None, typer.Option(help="dense, bm25 or hybrid (default: SPANQA_RETRIEVAL)")] = None,
    rerank: Annotated[
        bool | None, typer.Option("--rerank/--no-rerank", help="Cross-encoder reranking (default: SPANQA_RERANK)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's response JSON")] = False,
) -> None:
    """Ask a question; prints the answer with its citation."""
    if retrieval is not None and retrieval not in get_args(Mode):
        error("--retrieval must be dense, bm25 or hybrid")
        raise typer.Exit(2)
    pipeline = open_pipeline(read_only=True)
    try:
        result = pipeline.ask(
            question,
            top_k=top_k,
            max_answers=max_answers,
            retrieval=retrieval,  # type: ignore[arg-type]  # checked above
            rerank=rerank,
        )
    except SpanqaError as exc:
        error(exc)
        raise typer.Exit(2) from None
    finally:
        pipeline.close()
    if as_json:
        from api.schemas import AskResponse

        print(AskResponse.of(result).model_dump_json(indent=2))
        return
    if result.no_answer:
        console.print("[bold yellow]No answer:[/bold yellow] the documents do not seem to contain one.")
        for p in result.passages[:3]:
            console.print(Text.assemble("  you may look here: ", plain(p.title, "cyan"), f" [{p.start}:{p.end}]"))
        return
    for i, answer in enumerate(result.answers, start=1):
        c = answer.citation
        page = f", page {c.page}" if c.page else ""
        console.print(
            Text.assemble(
                plain(f"{i}. {answer.text}", "bold"),
                f"  (score {answer.score:.2f}, confidence {answer.confidence:.0%})",
            )
        )
        console.print(
            Text.assemble(
                "   source: ", plain(c.title, "cyan"), printable(f" ({c.doc_id}{page}, characters {c.start}-{c.end})")
            )
        )
        console.print(marked_snippet(c.passage.text, c.answer_start, c.answer_end))
    console.print(f"[dim]{result.timings_ms['total']:.0f} ms[/dim]")


def marked_snippet(text: str, start: int, end: int, context: int = 160) -> Text:
    """The passage around the answer, the answer marked (offsets, never a string search)."""
    left, right = max(0, start - context), min(len(text), end + context)
    snippet = Text("   " + ("…" if left else ""))
    snippet.append(printable(text[left:start], newlines=False))
    snippet.append(printable(text[start:end], newlines=False), style="bold black on yellow")
    snippet.append(printable(text[end:right], newlines=False))
    if right < len(text):
        snippet.append("…")
    return snippet
