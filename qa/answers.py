"""What an answer is: a verbatim span of a stored document, with its citations.

One answer may be found in several places (the same normalized text in several passages): it is
returned once, `citation` is the primary (best-scoring) place and `citations` lists every place,
the primary first. Each citation slices its document to exactly its own text.
"""

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

    @property
    def text(self) -> str:
        return self.passage.text[self.answer_start : self.answer_end]


@dataclass(frozen=True)
class Answer:
    text: str
    score: float  # reader score: start+end logit sum, comparable across passages
    confidence: float  # P(answer right) from the calibrator (qa.calibration)
    citation: Citation  # the primary place
    citations: tuple[Citation, ...] = ()  # every place the answer was found, the primary first


def make_citation(passage: Passage, answer_start: int, answer_end: int) -> Citation:
    """The citation of `passage.text[answer_start:answer_end]` in its document."""
    return Citation(
        doc_id=passage.doc_id,
        title=passage.title,
        start=passage.start + answer_start,
        end=passage.start + answer_end,
        page=passage.page,
        passage=passage,
        answer_start=answer_start,
        answer_end=answer_end,
    )


def make_answer(
    passage: Passage,
    answer_start: int,
    answer_end: int,
    score: float,
    confidence: float,
    others: tuple[Citation, ...] = (),
) -> Answer:
    """Builds an Answer from offsets into `passage.text`; `others`: more places it was found."""
    citation = make_citation(passage, answer_start, answer_end)
    return Answer(
        text=citation.text, score=score, confidence=confidence, citation=citation, citations=(citation, *others)
    )


def check_citation(answer: Answer, document_text: str) -> None:
    """The product's promise: the primary citation slices the document to exactly the answer."""
    check_place(answer.citation, answer.text, document_text)


def check_place(citation: Citation, text: str, document_text: str) -> None:
    """One citation slices its document to exactly `text`."""
    got = document_text[citation.start : citation.end]
    if got != text:
        raise CitationMismatch(
            f"citation {citation.doc_id}[{citation.start}:{citation.end}] is {got!r}, answer is {text!r}"
        )
