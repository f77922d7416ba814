"""Request and response models of the HTTP API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from index.store import DocumentInfo
from index.types import Document
from qa.answers import Answer, Passage
from qa.pipeline import AskResult, IngestResult


class AskRequest(BaseModel):
    question: str = Field(description="The question, in plain language")
    top_k: int | None = Field(default=None, ge=1, le=100, description="Passages to read")
    max_answers: int | None = Field(default=None, ge=1, le=20, description="Answers to return")


class PassageOut(BaseModel):
    chunk_id: int
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    page: int | None
    score: float

    @classmethod
    def of(cls, p: Passage) -> "PassageOut":
        return cls(
            chunk_id=p.chunk_id, doc_id=p.doc_id, title=p.title, text=p.text,
            start=p.start, end=p.end, page=p.page, score=p.score,
        )


class AnswerPassage(BaseModel):
    chunk_id: int
    text: str
    start: int = Field(description="Offset of the passage in the document text")
    end: int
    answer_start: int = Field(description="Offset of the answer in passage.text")
    answer_end: int


class AnswerOut(BaseModel):
    text: str
    score: float = Field(description="Reader score: start+end logit sum")
    confidence: float = Field(description="sigmoid(score - no_answer_threshold)")
    doc_id: str
    title: str
    start: int = Field(description="Offset of the answer in the document text")
    end: int
    page: int | None
    passage: AnswerPassage
    retrieval_score: float

    @classmethod
    def of(cls, a: Answer) -> "AnswerOut":
        c = a.citation
        return cls(
            text=a.text, score=a.score, confidence=a.confidence, doc_id=c.doc_id, title=c.title,
            start=c.start, end=c.end, page=c.page, retrieval_score=c.passage.score,
            passage=AnswerPassage(
                chunk_id=c.passage.chunk_id, text=c.passage.text, start=c.passage.start,
                end=c.passage.end, answer_start=c.answer_start, answer_end=c.answer_end,
            ),
        )


class AskResponse(BaseModel):
    question: str
    no_answer: bool
    answers: list[AnswerOut]
    passages: list[PassageOut]
    timings_ms: dict[str, float]

    @classmethod
    def of(cls, r: AskResult) -> "AskResponse":
        return cls(
            question=r.question, no_answer=r.no_answer,
            answers=[AnswerOut.of(a) for a in r.answers],
            passages=[PassageOut.of(p) for p in r.passages],
            timings_ms={k: round(v, 2) for k, v in r.timings_ms.items()},
        )


class DocumentIn(BaseModel):
    text: str = Field(description="The document's text")
    title: str | None = None
    id: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict)


class IngestOut(BaseModel):
    id: str
    title: str
    chunks: int
    status: str

    @classmethod
    def of(cls, r: IngestResult) -> "IngestOut":
        return cls(id=r.id, title=r.title, chunks=r.chunks, status=r.status)


class DocumentSummary(BaseModel):
    id: str
    title: str
    chars: int
    chunks: int
    content_type: str
    source: str | None
    metadata: dict[str, Any]
    created_at: float
    pages: int

    @classmethod
    def of(cls, d: DocumentInfo) -> "DocumentSummary":
        return cls(
            id=d.id, title=d.title, chars=d.chars, chunks=d.chunks, content_type=d.content_type,
            source=d.source, metadata=d.metadata, created_at=d.created_at, pages=d.pages,
        )


class DocumentList(BaseModel):
    documents: list[DocumentSummary]
    total: int
    offset: int
    limit: int


class PageOut(BaseModel):
    number: int
    start: int
    end: int


class DocumentOut(BaseModel):
    id: str
    title: str
    text: str
    metadata: dict[str, Any]
    chunks: int
    content_type: str
    source: str | None
    pages: list[PageOut]

    @classmethod
    def of(cls, d: Document, chunks: int) -> "DocumentOut":
        return cls(
            id=d.id, title=d.title, text=d.text, metadata=d.metadata, chunks=chunks,
            content_type=d.content_type, source=d.source,
            pages=[PageOut(number=p.number, start=p.start, end=p.end) for p in d.pages],
        )


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    embedding_model: str
    reader_model: str


class ErrorOut(BaseModel):
    detail: str
