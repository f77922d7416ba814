"""Answer selection on hand-made reader output: one answer per normalized text, all its places."""

from __future__ import annotations

from qa.answers import Passage
from qa.reader import Reading, Span
from qa.selection import candidates, to_answers

TEXTS = [
    "The sanctions were announced by Joe Biden in March.",
    "In March, President Joe Biden announced the sanctions.",
    "Nothing about it here, said the spokesman.",
]


def passage(i: int, doc: str | None = None, start: int = 0) -> Passage:
    return Passage(
        i, doc or f"doc-{i}", f"Doc {i}", TEXTS[i], start, start + len(TEXTS[i]), None, 1.0 / (i + 1), i, {}, {}
    )


def span(text_index: int, words: str, score: float) -> Span:
    start = TEXTS[text_index].index(words)
    return Span(0, start, start + len(words), words, score, score / 2, score / 2)


def test_same_answer_in_two_passages_is_one_candidate_with_two_places() -> None:
    passages = [passage(0), passage(1), passage(2)]
    readings = [
        Reading([span(0, "Joe Biden", 8.0), span(0, "March", 5.0)], 2.0),
        Reading([span(1, "Joe Biden", 7.0), span(1, "Biden", 6.5)], 3.0),
        Reading([span(2, "the spokesman", 4.0)], 9.0),
    ]
    found = candidates(passages, readings)
    assert [c.key for c in found] == ["joe biden", "march", "spokesman"]  # "Biden" is a fragment: dropped
    top = found[0]
    assert [p.passage for p in top.places] == [0, 1]
    assert top.features["passages_agreeing"] == 2
    assert top.features["margin_null"] == 6.0 and top.features["gap_next"] == 3.0
    assert 0 < top.features["share"] < 1

    answers = to_answers(found, passages, lambda c: c.features["share"], min_confidence=0.0, max_answers=2)
    assert [a.text for a in answers] == ["Joe Biden", "March"]
    first = answers[0]
    assert first.citation == first.citations[0] and len(first.citations) == 2
    for c in first.citations:
        assert c.passage.text[c.answer_start : c.answer_end] == "Joe Biden"


def test_overlapping_chunks_of_one_document_are_one_place() -> None:
    passages = [passage(0, "doc", 0), passage(0, "doc", 0)]
    readings = [Reading([span(0, "Joe Biden", 8.0)], 1.0), Reading([span(0, "Joe Biden", 7.5)], 1.0)]
    found = candidates(passages, readings)
    assert len(found) == 1 and len(found[0].places) == 1 and found[0].primary.score == 8.0


def test_min_confidence_gives_no_answer() -> None:
    passages = [passage(0)]
    found = candidates(passages, [Reading([span(0, "Joe Biden", 8.0)], 1.0)])
    assert to_answers(found, passages, lambda c: 0.1, min_confidence=0.3, max_answers=3) == []
    assert candidates([], []) == []
