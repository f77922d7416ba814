"""Request and response models of `/feedback`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from index.validation import INT64_MAX
from qa.feedback import NO_ANSWER, Feedback, FeedbackSpan, SpanRef

_OFFSET = Field(ge=0, le=INT64_MAX, description="Character offset into the document's stored text")


class SpanIn(BaseModel):
    """Characters `start:end` of a stored document's `text` (as in an answer's citation)."""

    model_config = ConfigDict(extra="forbid")
    doc_id: str = Field(min_length=1, max_length=1000)
    start: int = _OFFSET
    end: int = _OFFSET

    def ref(self) -> SpanRef:
        return SpanRef(self.doc_id, self.start, self.end)


class NoAnswerIn(BaseModel):
    """The documents do not hold the answer."""

    model_config = ConfigDict(extra="forbid")
    no_answer: Literal[True]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=100_000, description="The question that was asked")
    answer: SpanIn | None = Field(description='The answer judged (its citation), or null when it was "no answer"')
    verdict: Literal["correct", "wrong"]
    correction: SpanIn | NoAnswerIn | None = Field(
        default=None, description='With "wrong": the right words, or {"no_answer": true} when the documents lack them'
    )

    @field_validator("question")
    @classmethod
    def _question_has_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is empty")
        return value

    def correction_ref(self) -> SpanRef | Literal["no_answer"] | None:
        if isinstance(self.correction, NoAnswerIn):
            return NO_ANSWER
        return None if self.correction is None else self.correction.ref()


class FeedbackSpanOut(BaseModel):
    doc_id: str
    start: int
    end: int
    text: str = Field(description="`document.text[start:end]` when the feedback was given")
    context: str = Field(description="The window of the document around the span, as exported")
    context_start: int = Field(description="Where `context` starts in the document's text")

    @classmethod
    def of(cls, span: FeedbackSpan) -> FeedbackSpanOut:
        return cls(**span.__dict__)


class NoAnswerOut(BaseModel):
    no_answer: Literal[True]


class FeedbackOut(BaseModel):
    id: int
    question: str
    answer: FeedbackSpanOut | None
    verdict: Literal["correct", "wrong"]
    correction: FeedbackSpanOut | NoAnswerOut | None
    created_at: float = Field(description="When the feedback was given (Unix time)")

    @classmethod
    def of(cls, f: Feedback) -> FeedbackOut:
        correction: FeedbackSpanOut | NoAnswerOut | None = None
        if f.correction == NO_ANSWER:
            correction = NoAnswerOut(no_answer=True)
        elif isinstance(f.correction, FeedbackSpan):
            correction = FeedbackSpanOut.of(f.correction)
        answer = None if f.answer is None else FeedbackSpanOut.of(f.answer)
        return cls(
            id=f.id,
            question=f.question,
            answer=answer,
            verdict=f.verdict,
            correction=correction,
            created_at=f.created_at,
        )


class FeedbackList(BaseModel):
    feedback: list[FeedbackOut] = Field(description="Newest first")
    total: int
    offset: int
    limit: int


class SquadExport(BaseModel):
    """SQuAD 2.0 JSON: `data` as `spanqa train-reader` and `spanqa reader promote --feedback` read it."""

    version: Literal["v2.0"]
    data: list[dict[str, Any]]
    summary: dict[str, Any] = Field(description="Feedback exported and skipped (with the reason)")
