"""Feedback on answers: checked against the stored documents, kept in the store (`store.feedback`),
and exported as SQuAD 2.0 training data (`qa.feedback_export`).

A span someone points at (the answer judged, or the right words) must lie inside a stored document
and hold some text; its text and a window of the document around it (`context_window`) are cut
at write time, so the export survives later edits and deletions of the document.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from errors import InvalidRequest
from index.store.protocol import NO_ANSWER, Feedback, FeedbackSpan, FeedbackStore, Verdict
from index.types import Document
from index.validation import check_text
from qa.feedback_export import squad_export

CONTEXT_CHARS = 300  # characters kept on each side of a span (then widened to whole words)
MAX_SPAN_CHARS = 1000
_SPACE = re.compile(r"\s")

__all__ = ["NO_ANSWER", "Feedback", "FeedbackService", "FeedbackSpan", "SpanRef", "context_window"]


@dataclass(frozen=True)
class SpanRef:
    """Characters `start:end` of a stored document's text, as a client names them."""

    doc_id: str
    start: int
    end: int


def context_window(text: str, start: int, end: int, chars: int = CONTEXT_CHARS) -> tuple[str, int]:
    """About `chars` characters of `text` on each side of `start:end`, not cutting words: the window
    and where it starts in `text`."""
    low, high = max(0, start - chars), min(len(text), end + chars)
    if low > 0 and (space := _SPACE.search(text, low, start)) is not None:
        low = space.end()
    if high < len(text):
        spaces = [m.start() for m in _SPACE.finditer(text, end, high)]
        high = spaces[-1] if spaces else high
    return text[low:high], low


class FeedbackService:
    """Checks feedback against the documents, stores it, pages through it and exports it."""

    def __init__(
        self,
        records: FeedbackStore,
        get_document: Callable[[str], Document | None],
        max_question_chars: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.records = records
        self.get_document = get_document
        self.max_question_chars = max_question_chars
        self.clock = clock

    def give(
        self,
        question: str,
        answer: SpanRef | None,
        verdict: Verdict,
        correction: SpanRef | Literal["no_answer"] | None = None,
    ) -> Feedback:
        """Stores a verdict on `answer` (None: the system said "no answer"); InvalidRequest when it
        names text that is not there or contradicts itself."""
        question = check_text(question, "the question").strip()
        if not question:
            raise InvalidRequest("the question is empty")
        if len(question) > self.max_question_chars:
            raise InvalidRequest(f"the question is over {self.max_question_chars:,} characters")
        if verdict not in ("correct", "wrong"):
            raise InvalidRequest("verdict must be 'correct' or 'wrong'")
        if correction is not None and verdict != "wrong":
            raise InvalidRequest("a correction goes with the verdict 'wrong' only")
        if answer is None and correction == NO_ANSWER:
            raise InvalidRequest("the answer was already 'no answer': a correction saying so contradicts 'wrong'")
        feedback = Feedback(
            question=question,
            answer=None if answer is None else self._cut(answer, "answer"),
            verdict=verdict,
            correction=self._cut(correction, "correction") if isinstance(correction, SpanRef) else correction,
            created_at=self.clock(),
        )
        return self.records.add(feedback)

    def _cut(self, ref: SpanRef, what: str) -> FeedbackSpan:
        document = self.get_document(check_text(ref.doc_id, f"the {what}'s doc_id"))
        if document is None:
            raise InvalidRequest(f"the {what} names no stored document: {ref.doc_id[:200]!r}")
        size = len(document.text)
        if not 0 <= ref.start < ref.end <= size:
            raise InvalidRequest(
                f"the {what}'s span {ref.start}:{ref.end} is not inside document {ref.doc_id!r}"
                f" ({size:,} characters; need 0 <= start < end <= {size})"
            )
        if ref.end - ref.start > MAX_SPAN_CHARS:
            raise InvalidRequest(f"the {what} is over {MAX_SPAN_CHARS:,} characters: select only the answer's words")
        text = document.text[ref.start : ref.end]
        if not text.strip():
            raise InvalidRequest(f"the {what}'s span {ref.start}:{ref.end} holds only white space")
        context, context_start = context_window(document.text, ref.start, ref.end)
        return FeedbackSpan(ref.doc_id, ref.start, ref.end, text, context, context_start)

    def get(self, feedback_id: int) -> Feedback | None:
        return self.records.get(feedback_id)

    def page(self, offset: int = 0, limit: int = 50) -> tuple[list[Feedback], int]:
        """Newest first, and how many there are in all."""
        return self.records.list_page(offset, limit), self.records.count()

    def all(self, batch: int = 500) -> list[Feedback]:
        """Every record, oldest first."""
        records: list[Feedback] = []
        while page := self.records.list_page(len(records), batch):
            records.extend(page)
            if len(page) < batch:
                break
        return records[::-1]

    def export(self) -> dict[str, Any]:
        """Every record as SQuAD 2.0 JSON, with a `summary` of what was exported and skipped."""
        return squad_export(self.all())
