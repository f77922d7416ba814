"""Asking: validate the question and filters, retrieve passages, read them, return checked answers.

ask:  question -> filters -> retriever (dense / BM25 / hybrid, optional rerank) -> passages worth
      reading -> reader (alone, or micro-batched with concurrent questions) -> answer selection ->
      citations checked against the stored documents.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from errors import InvalidRequest
from index.store import Store
from index.validation import check_metadata_filter, check_text
from qa import selection
from qa.answers import Answer, Passage, check_citation, check_place
from qa.batching import MicroBatcher
from qa.calibration import Calibrator
from qa.reader import Reader, Reading, confidence
from qa.retriever import Mode, Retriever
from qa.settings import Settings

# One reader request: (question, passage texts, n_best).
ReadRequest = tuple[str, list[str], int]


@dataclass
class AskResult:
    question: str
    answers: list[Answer]
    no_answer: bool
    passages: list[Passage]
    timings_ms: dict[str, float]
    best_score: float | None = None
    null_score: float | None = None
    retrieval: str = ""  # the retrieval mode used
    reranked: bool = False
    # Every candidate answer, best first, even those below min_confidence (for eval/calibration).
    candidates: list[selection.Candidate] = field(default_factory=list)
    best_confidence: float | None = None  # the first candidate's confidence


def validate_question(question: str, max_chars: int) -> str:
    question = check_text(question, "the question").strip()
    if not question:
        raise InvalidRequest("the question is empty")
    if len(question) > max_chars:
        raise InvalidRequest(f"the question has {len(question):,} characters, over the limit of {max_chars:,}")
    return question


def validate_metadata_filter(metadata: Mapping[str, Any]) -> None:
    """Keys 1-200 characters without '"' or NUL; values (or lists of them) finite strings, numbers, booleans
    or null; bounded sizes (`index.validation.check_metadata_filter`, the same check the API makes)."""
    check_metadata_filter(metadata)


def read_many(reader: Reader, requests: list[ReadRequest]) -> list[list[Reading]]:
    """One reader call for several (question, passage texts, n_best) requests; each passage
    is read on its own (its own null score), so each request gets one Reading per passage."""
    n_best = max(n for _, _, n in requests)
    pairs = [(q, text, n) for q, texts, n in requests for text in texts]
    readings = iter(reader.read_batch([q for q, _, _ in pairs], [[t] for _, t, _ in pairs], n_best=n_best))
    return [[_first(next(readings), n) for _ in texts] for _, texts, n in requests]


def _first(reading: Reading, n: int) -> Reading:
    return Reading(reading.spans[:n], reading.null_score)


def passages_to_read(passages: list[Passage], min_ratio: float, rerank_margin: float | None = None) -> list[int]:
    """Indexes of the passages worth reading in hybrid retrieval: the first (the retriever's
    best) and every other whose fused (RRF) score is at least `min_ratio` times the first one's.

    Reading time grows with every passage, and on the SQuAD dev split a passage fused far below
    the best rarely holds the answer but often holds a spurious high-scoring span, so skipping
    them is both faster and more accurate (bench/levers.py measures it). Only fused scores are
    used: a dense-only or BM25-only score alone misjudges too often (the seed article's
    "national security adviser" passage scores half the best in dense, first in BM25), and
    reranked passages are all read (the cross-encoder already chose them), unless `rerank_margin`
    is given: then those whose cross-encoder logit is within it of the best one's (README,
    "Retrieval": on SQuAD dev questions outside the eval subset, margin 2 raised has-answer F1 from
    52.4 to 58.6 over reading all five).
    """
    first = passages[0].scores if passages else {}
    if "rerank" in first and rerank_margin is not None:
        return [i for i, p in enumerate(passages) if p.scores["rerank"] >= first["rerank"] - rerank_margin]
    if len(passages) <= 1 or min_ratio <= 0:
        return list(range(len(passages)))
    if "rrf" not in first or "rerank" in first or first["rrf"] <= 0:
        return list(range(len(passages)))
    floor = min_ratio * first["rrf"]
    return [i for i, p in enumerate(passages) if i == 0 or p.scores.get("rrf", floor) >= floor]


class AskingService:
    """Answers questions over the store, reading through `read` (a reader call or a micro-batcher)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        retriever: Retriever,
        read: Callable[[list[ReadRequest]], list[list[Reading]]],
        batcher: MicroBatcher[ReadRequest, list[Reading]] | None = None,
        calibrator: Calibrator | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.retriever = retriever
        self._read_many = read
        self.batcher = batcher
        self.calibrator = calibrator

    def validate_question(self, question: str) -> str:
        return validate_question(question, self.settings.max_question_chars)

    def filter_documents(
        self, doc_ids: Collection[str] | None, metadata: Mapping[str, Any] | None
    ) -> Collection[str] | None:
        """The ids of the documents `ask` may read: `doc_ids` (None: all) narrowed to those whose
        metadata matches `metadata` (equality per key; a list value matches any of its values)."""
        if not metadata:
            return doc_ids
        validate_metadata_filter(metadata)
        matching = set(self.store.doc_ids_matching(metadata))
        return matching if doc_ids is None else matching.intersection(doc_ids)

    def retrieve(
        self,
        question: str,
        top_k: int | None = None,
        doc_ids: Collection[str] | None = None,
        *,
        retrieval: Mode | None = None,
        rerank: bool | None = None,
    ) -> list[Passage]:
        """The passages `ask` would read (retrieval mode and rerank default to the settings')."""
        question = self.validate_question(question)
        top_k = top_k or self.settings.top_k
        return self.retriever.search(question, top_k, doc_ids=doc_ids, mode=retrieval, rerank=rerank).passages

    def ask(
        self,
        question: str,
        *,
        top_k: int | None = None,
        max_answers: int | None = None,
        doc_ids: Collection[str] | None = None,
        retrieval: Mode | None = None,
        rerank: bool | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> AskResult:
        """Answers `question` from the documents `doc_ids` (all when None) whose metadata has every
        key-value pair of `metadata` (a list value: any of its values); the filter applies before
        retrieval, so only those documents are read."""
        t0 = time.perf_counter()
        question = self.validate_question(question)
        doc_ids = self.filter_documents(doc_ids, metadata)
        top_k = top_k or self.settings.top_k
        max_answers = max_answers or self.settings.max_answers
        # Announced to the micro-batcher: a reader batch forming now waits a moment for this one.
        with self.batcher.expecting() if self.batcher else contextlib.nullcontext():
            found = self.retriever.search(question, top_k, doc_ids=doc_ids, mode=retrieval, rerank=rerank)
            passages = found.passages
            t1 = time.perf_counter()
            answers, candidates, readings = self.read_candidates(question, passages, max_answers)
        t2 = time.perf_counter()
        timings = {
            **found.timings_ms,
            "retrieve": (t1 - t0) * 1000,
            "read": (t2 - t1) * 1000,
            "total": (t2 - t0) * 1000,
        }
        return AskResult(
            question=question,
            answers=answers,
            no_answer=not answers,
            passages=passages,
            timings_ms=timings,
            best_score=candidates[0].primary.score if candidates else None,
            null_score=min((r.null_score for r in readings if not math.isnan(r.null_score)), default=None),
            candidates=candidates,
            best_confidence=self.confidence(candidates[0]) if candidates else None,
            retrieval=retrieval or self.settings.retrieval,
            reranked=self.settings.rerank if rerank is None else rerank,
        )

    def read(
        self, question: str, passages: list[Passage], max_answers: int
    ) -> tuple[list[Answer], float | None, float | None]:
        """Reads passages; returns the answers confident enough, best and null scores."""
        answers, found, readings = self.read_candidates(question, passages, max_answers)
        best = found[0].primary.score if found else None
        nulls = [r.null_score for r in readings if not math.isnan(r.null_score)]
        return answers, best, (min(nulls) if nulls else None)

    def read_candidates(
        self, question: str, passages: list[Passage], max_answers: int
    ) -> tuple[list[Answer], list[selection.Candidate], list[Reading]]:
        """Answers, every candidate (best first, qa.selection) and each passage's reading."""
        if not passages:
            return [], [], []
        read = passages_to_read(passages, self.settings.reader_min_score_ratio, self.settings.rerank_read_margin)
        request = (question, [passages[i].text for i in read], max(20, 3 * max_answers))
        readings = self.batcher.submit(request) if self.batcher else self._read_many([request])[0]
        passages = [passages[i] for i in read]
        found = selection.candidates(passages, readings)
        answers = selection.to_answers(
            found, passages, self.confidence, min_confidence=self.min_confidence, max_answers=max_answers
        )
        return self.check_citations(answers), found, readings

    @property
    def min_confidence(self) -> float:
        """Answers below this confidence are not given (0.5 = the score threshold without a calibrator)."""
        return self.settings.min_confidence if self.calibrator else 0.5

    def confidence(self, candidate: selection.Candidate) -> float:
        """P(right) from the calibrator; without one, sigmoid(score - no_answer_threshold)."""
        if self.calibrator is not None:
            return self.calibrator.probability(candidate.features)
        return confidence(candidate.primary.score, self.settings.no_answer_threshold)

    def check_citations(self, answers: list[Answer]) -> list[Answer]:
        """The promise, checked where answers are made: the document slices to the answer, at
        every place it cites.

        A place read from a passage whose document was deleted or replaced after retrieval (a
        concurrent write: its chunk is gone) is dropped, not returned with a citation that no longer
        holds (the whole answer when it is the primary place); a mismatch on a document that did
        not change is a bug and raises CitationMismatch.
        """
        texts: dict[str, str | None] = {}
        kept: list[Answer] = []
        for answer in answers:
            places = []
            for citation in answer.citations or (answer.citation,):
                if citation.doc_id not in texts:
                    document = self.store.get_document(citation.doc_id)
                    texts[citation.doc_id] = document.text if document else None
                text = texts[citation.doc_id]
                holds = text is not None and text[citation.start : citation.end] == citation.text
                if not holds and not self._chunk_exists(citation.passage.chunk_id):
                    continue
                check_place(citation, citation.text, text or "")
                places.append(citation)
            if places and places[0] == answer.citation:
                check_citation(answer, texts[answer.citation.doc_id] or "")
                kept.append(dataclasses.replace(answer, citations=tuple(places)))
        return kept

    def _chunk_exists(self, chunk_id: int) -> bool:
        try:
            self.store.get_chunks([chunk_id])
        except KeyError:
            return False
        return True
