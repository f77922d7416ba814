"""Request and response models of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, Field, field_validator

from errors import InvalidRequest
from index.ids import DOC_ID_MAX_CHARS, check_doc_id
from index.validation import MAX_FILTER_KEYS, check_metadata, check_metadata_filter, check_text
from qa.answers import Answer, Citation
from qa.pipeline import AskResult, Document

MetadataValue = str | int | float | bool | None


def _checked(check: Any, *args: Any) -> Any:
    """Runs a check of `index`, turning its InvalidRequest into the ValueError pydantic reports as 422."""
    try:
        return check(*args)
    except InvalidRequest as error:
        raise ValueError(str(error)) from None


class _Copied(BaseModel):
    """A response model copied from a record (a dataclass of `qa`) with the same field names."""

    @classmethod
    def of(cls, record: object) -> Self:
        return cls.model_validate(record, from_attributes=True)


class AskFilters(BaseModel):
    """Which documents to read, applied before retrieval; both filters together must match."""

    doc_ids: list[str] | None = Field(
        default=None, max_length=10_000, description="Only these documents (ids); unknown ids match nothing"
    )
    metadata: dict[str, MetadataValue | list[MetadataValue]] | None = Field(
        default=None,
        description="Only documents whose metadata has each key with this value (a list: any of its values),"
        ' e.g. {"team": "legal", "year": [2023, 2024]}',
        max_length=MAX_FILTER_KEYS,
    )

    @field_validator("doc_ids")
    @classmethod
    def _doc_ids_are_text(cls, value: list[str] | None) -> list[str] | None:
        for doc_id in value or []:
            _checked(check_text, doc_id, "a document id")
        return value

    @field_validator("metadata")
    @classmethod
    def _filter_is_bounded(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _checked(check_metadata_filter, value) if value else value


class AskRequest(BaseModel):
    question: str = Field(description="The question, in plain language")
    filters: AskFilters | None = Field(default=None, description="Restrict the documents that are read")
    top_k: int | None = Field(default=None, ge=1, le=100, description="Passages to read")
    max_answers: int | None = Field(default=None, ge=1, le=20, description="Answers to return")
    retrieval: Literal["dense", "bm25", "hybrid"] | None = Field(
        default=None, description="dense (embeddings), bm25 (keywords) or hybrid (both, rank fusion); default: settings"
    )
    rerank: bool | None = Field(
        default=None, description="Rerank the retrieved candidates with a cross-encoder; default: settings"
    )

    @field_validator("question")
    @classmethod
    def _question_is_text(cls, value: str) -> str:
        return _checked(check_text, value, "the question")


class PassageOut(_Copied):
    chunk_id: int
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    page: int | None
    score: float = Field(description="The score that ranked it: dense cosine, BM25, RRF or cross-encoder")
    rank: int = Field(description="Position in the passages returned, from 1")
    scores: dict[str, float] = Field(
        description='Every score computed for it: "dense" (cosine), "bm25", "rrf" (fused), "rerank" (cross-encoder)'
    )
    ranks: dict[str, int] = Field(
        description='Its rank in each retriever\'s list ("dense", "bm25") and after fusion ("fused"), when it was in it'
    )


class AnswerPassage(BaseModel):
    chunk_id: int
    text: str
    start: int = Field(description="Offset of the passage in the document text")
    end: int
    answer_start: int = Field(description="Offset of the answer in passage.text")
    answer_end: int

    @classmethod
    def of(cls, c: Citation) -> AnswerPassage:
        p = c.passage
        return cls(
            chunk_id=p.chunk_id,
            text=p.text,
            start=p.start,
            end=p.end,
            answer_start=c.answer_start,
            answer_end=c.answer_end,
        )


def _where(c: Citation) -> dict[str, Any]:
    """The fields CitationOut and AnswerOut share: where the answer stands, in which document and passage."""
    return {
        "doc_id": c.doc_id,
        "title": c.title,
        "start": c.start,
        "end": c.end,
        "page": c.page,
        "passage": AnswerPassage.of(c),
    }


class CitationOut(BaseModel):
    """One place an answer was found: `document.text[start:end] == text`, the answer's text up to
    normalization (case, punctuation, articles: "February 24, 2022," is "February 24, 2022")."""

    text: str
    doc_id: str
    title: str
    start: int = Field(description="Offset of the answer in the document text")
    end: int
    page: int | None
    passage: AnswerPassage

    @classmethod
    def of(cls, c: Citation) -> CitationOut:
        return cls(
            text=c.text,
            **_where(c),
        )


class AnswerOut(BaseModel):
    text: str
    score: float = Field(description="Reader score: start+end logit sum")
    confidence: float = Field(
        description="Calibrated probability that the answer is right (token F1 >= 0.5 against a person's answer)"
    )
    doc_id: str
    title: str
    start: int = Field(description="Offset of the answer in the document text")
    end: int
    page: int | None
    passage: AnswerPassage
    retrieval_score: float
    citations: list[CitationOut] = Field(
        description="Every place the same answer was found, the primary (the fields above) first"
    )

    @classmethod
    def of(cls, a: Answer) -> AnswerOut:
        c = a.citation
        return cls(
            citations=[CitationOut.of(x) for x in (a.citations or (c,))],
            text=a.text,
            score=a.score,
            confidence=a.confidence,
            retrieval_score=c.passage.score,
            **_where(c),
        )


class AskResponse(BaseModel):
    question: str
    retrieval: str = Field(description="The retrieval mode used")
    reranked: bool = Field(description="Whether a cross-encoder reranked the passages")
    no_answer: bool
    answers: list[AnswerOut]
    passages: list[PassageOut]
    timings_ms: dict[str, float]

    @classmethod
    def of(cls, r: AskResult) -> AskResponse:
        return cls(
            question=r.question,
            retrieval=r.retrieval,
            reranked=r.reranked,
            no_answer=r.no_answer,
            answers=[AnswerOut.of(a) for a in r.answers],
            passages=[PassageOut.of(p) for p in r.passages],
            timings_ms={k: round(v, 2) for k, v in r.timings_ms.items()},
        )


class DocumentIn(BaseModel):
    text: str = Field(description="The document's text")
    title: str | None = None
    id: str | None = Field(
        default=None,
        max_length=DOC_ID_MAX_CHARS,
        description="1-200 characters from letters, digits and . _ ~ : @ + - (not . or ..); default: derived",
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict, description="Any JSON object; numbers finite, integers within 64 bits"
    )

    @field_validator("text", "title")
    @classmethod
    def _is_text(cls, value: str | None) -> str | None:
        return value if value is None else _checked(check_text, value, "the document text or title")

    @field_validator("id")
    @classmethod
    def _id_is_safe(cls, value: str | None) -> str | None:
        return value if value is None else _checked(check_doc_id, value)

    @field_validator("metadata")
    @classmethod
    def _metadata_is_storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _checked(check_metadata, value)


class IngestOut(_Copied):
    id: str
    title: str
    chunks: int
    status: str


class DocumentSummary(_Copied):
    id: str
    title: str
    chars: int
    chunks: int
    content_type: str
    source: str | None
    metadata: dict[str, Any]
    created_at: float
    pages: int


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
    pages: list[PageOut] = Field(description="Page spans in `text` (PDF); empty for formats without pages")
    created_at: float = Field(description="When this version was ingested (Unix time)")

    @classmethod
    def of(cls, d: Document, chunks: int) -> DocumentOut:
        return cls(
            id=d.id,
            title=d.title,
            text=d.text,
            metadata=d.metadata,
            chunks=chunks,
            content_type=d.content_type,
            source=d.source,
            pages=[PageOut(number=p.number, start=p.start, end=p.end) for p in d.pages],
            created_at=d.created_at,
        )


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    embedding_model: str
    reader_model: str
    pid: int  # the server process that answered (`spanqa serve --workers N` runs several)


class ErrorOut(BaseModel):
    detail: str
