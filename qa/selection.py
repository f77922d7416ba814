"""Answer selection: the reader's spans from every passage read -> candidate answers, best first.

Pure functions over the reader's output (one `Reading` per passage, read on its own so each has
its own null score) and the passages' retrieval scores:

1. Every span becomes a `Place` (passage, offsets, score, that passage's null score). The same
   document range found through two overlapping chunks is one place, kept at its best score.
2. Places whose normalized text (SQuAD normalization) is the same form one `Candidate`: one
   answer, every place it was found. The primary place is the best-scoring one.
3. A candidate overlapping a better candidate in the same document (a fragment or extension of
   it: "Jake" under "Jake Sullivan") is dropped: alternatives must be other answers.
4. Candidates are ranked by `rank_score` (the primary span's score plus a bonus for agreement,
   see `Ranking`), and each gets the `features` the calibrator (qa.calibration) turns into
   the probability that it is right.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from qa.answers import Answer, Passage, make_answer, make_citation
from qa.eval.metrics import normalize_answer
from qa.reader import Reading


@dataclass(frozen=True)
class Ranking:
    """How candidates are ordered: rank score = primary span score
    + agreement * log(passages giving the same answer)
    - null * (null score of the primary's passage)
    + retrieval * log(primary passage's retrieval score / the best passage's).
    Weights measured on the dev split (README, "Answer quality")."""

    agreement: float = 0.0
    null: float = 0.0
    retrieval: float = 0.0


DEFAULT_RANKING = Ranking(null=0.75, retrieval=3.0)
# Feature value used for the margin to the next candidate when there is none.
MAX_GAP = 10.0


@dataclass(frozen=True)
class Place:
    """One span of one passage read: `passages[passage].text[start:end] == text`."""

    passage: int  # index into the passages read
    doc_id: str  # that passage's document
    start: int  # offsets into that passage's text
    end: int
    text: str
    score: float  # start+end logit
    null_score: float  # the [CLS] score of the passage it was read from


@dataclass(frozen=True)
class Candidate:
    """One answer (normalized text) and every place it was found, the primary (best) first."""

    key: str  # normalized answer text
    places: tuple[Place, ...]
    rank_score: float
    features: dict[str, float] = field(default_factory=dict)

    @property
    def primary(self) -> Place:
        return self.places[0]


def _doc_range(passages: Sequence[Passage], place: Place) -> tuple[str, int, int]:
    p = passages[place.passage]
    return p.doc_id, p.start + place.start, p.start + place.end


def collect_places(passages: Sequence[Passage], readings: Sequence[Reading]) -> list[Place]:
    """Every span of every passage's reading, best first, one per document range."""
    best: dict[tuple[str, int, int], Place] = {}
    for i, reading in enumerate(readings):
        null = reading.null_score if not math.isnan(reading.null_score) else 0.0
        for span in reading.spans:
            place = Place(i, passages[i].doc_id, span.start, span.end, span.text, span.score, null)
            key = _doc_range(passages, place)
            if key not in best or place.score > best[key].score:
                best[key] = place
    return sorted(best.values(), key=lambda p: p.score, reverse=True)


def group_candidates(passages: Sequence[Passage], places: Sequence[Place]) -> list[list[Place]]:
    """Places grouped by normalized text, groups in order of their best place. A place overlapping
    a better place in the same document is left out, and so is a group whose best place does."""
    groups: dict[str, list[Place]] = {}
    dropped: set[str] = set()
    kept_ranges: list[tuple[str, int, int]] = []
    for place in places:
        key = normalize_answer(place.text) or place.text.strip().lower()
        if key in dropped:
            continue
        doc, s, e = _doc_range(passages, place)
        if any(d == doc and s < ke and ks < e for d, ks, ke in kept_ranges):
            # The same place seen through an overlapping chunk, or a fragment of a better answer.
            if key not in groups:
                dropped.add(key)
            continue
        groups.setdefault(key, []).append(place)
        kept_ranges.append((doc, s, e))
    return list(groups.values())


def fused_ratio(passages: Sequence[Passage], index: int) -> float:
    """The passage's fused (RRF) score over the first passage's, 1.0 without fused scores.

    Only hybrid retrieval's fused scores are used (the weights and the calibrator were fitted on
    them): dense cosines and BM25 scores are on other scales, so there the term is neutral."""
    first = passages[0].scores.get("rrf") if passages else None
    mine = passages[index].scores.get("rrf")
    return mine / first if first and mine is not None and first > 0 else 1.0


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def candidates(
    passages: Sequence[Passage], readings: Sequence[Reading], *, ranking: Ranking = DEFAULT_RANKING
) -> list[Candidate]:
    """The candidate answers of one question, best first (see the module docstring)."""
    places = collect_places(passages, readings)
    if not places:
        return []
    groups = group_candidates(passages, places)
    everything = _logsumexp([p.score for p in places])
    nulls = [r.null_score for r in readings if not math.isnan(r.null_score)]
    min_null = min(nulls) if nulls else 0.0

    def rank_score(group: list[Place]) -> float:
        first = group[0]
        ratio = fused_ratio(passages, first.passage)
        return (
            first.score
            + ranking.agreement * math.log(len({p.passage for p in group}))
            - ranking.null * first.null_score
            + ranking.retrieval * math.log(max(ratio, 1e-6))
        )

    groups.sort(key=rank_score, reverse=True)
    out: list[Candidate] = []
    for i, group in enumerate(groups):
        primary = group[0]
        next_score = groups[i + 1][0].score if i + 1 < len(groups) else None
        gap = MAX_GAP if next_score is None else min(MAX_GAP, primary.score - next_score)
        features = {
            "score": primary.score,
            "margin_null": primary.score - primary.null_score,
            "margin_min_null": primary.score - min_null,
            "gap_next": gap,
            "share": math.exp(_logsumexp([p.score for p in group]) - everything),
            "passages_agreeing": float(len({p.passage for p in group})),
            "passage_rank": float(primary.passage),
            "retrieval_ratio": fused_ratio(passages, primary.passage),
            "answer_words": float(len(primary.text.split())),
        }
        out.append(
            Candidate(
                key=normalize_answer(primary.text), places=tuple(group), rank_score=rank_score(group), features=features
            )
        )
    return out


def to_answers(
    found: Sequence[Candidate],
    passages: Sequence[Passage],
    confidence_of: Callable[[Candidate], float],
    *,
    min_confidence: float,
    max_answers: int,
) -> list[Answer]:
    """The candidates in rank order, up to `max_answers` and up to the first whose confidence is
    below `min_confidence` (so "no answer" is the best candidate's confidence below it), as Answers
    with every place they were found as citations (the primary first)."""
    answers: list[Answer] = []
    for candidate in found[:max_answers]:
        confidence = confidence_of(candidate)
        if confidence < min_confidence:
            break
        first, *rest = candidate.places
        others = tuple(make_citation(passages[p.passage], p.start, p.end) for p in rest)
        answers.append(make_answer(passages[first.passage], first.start, first.end, first.score, confidence, others))
    return answers
