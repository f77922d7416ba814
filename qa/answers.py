"""What an answer is: a verbatim span of a stored document, with its citation."""

from __future__ import annotations

from dataclasses import dataclass, field


class CitationMismatch(AssertionError):
    """An answer's offsets do not slice to its text: a bug, never a user error."""


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its retrieval scores."""

    chunk_id: int
    doc_id: str
    title: str
    text: str
    start: int  # offset of the passage in its document's text
    end: int
    page: int | None
    score: float  # the score that ranked it (dense cosine, BM25, fused ...)
    rank: int = 0
    scores: dict[str, float] = field(default_factory=dict)  # per retriever, e.g. {"dense": .., "bm25": ..}
    ranks: dict[str, int] = field(default_factory=dict)  # rank in each retriever's list, e.g. {"dense": 3, "bm25": 1}


@dataclass(frozen=True)
class Citation:
    """Where an answer comes from: `document.text[start:end] == answer.text`."""

    doc_id: str
    title: str
    start: int
    end: int
    page: int | None
    passage: Passage
    answer_start: int  # offsets into passage.text
    answer_end: int


@dataclass(frozen=True)
class Answer:
    text: str
    score: float  # reader score: start+end logit sum, comparable across passages
    confidence: float  # sigmoid(score - no_answer_threshold): 0.5 at the threshold
    citation: Citation


def make_answer(passage: Passage, answer_start: int, answer_end: int, score: float, confidence: float) -> Answer:
    """Builds an Answer from offsets into `passage.text`, checking the citation promise."""
    text = passage.text[answer_start:answer_end]
    citation = Citation(
        doc_id=passage.doc_id,
        title=passage.title,
        start=passage.start + answer_start,
        end=passage.start + answer_end,
        page=passage.page,
        passage=passage,
        answer_start=answer_start,
        answer_end=answer_end,
    )
    return Answer(text=text, score=score, confidence=confidence, citation=citation)


def check_citation(answer: Answer, document_text: str) -> None:
    """The product's promise: the citation slices the document to exactly the answer."""
    got = document_text[answer.citation.start : answer.citation.end]
    if got != answer.text:
        raise CitationMismatch(
            f"citation {answer.citation.doc_id}[{answer.citation.start}:{answer.citation.end}]"
            f" is {got!r}, answer is {answer.text!r}"
        )
