"""Answer selection over hand-made reader spans: threshold, count, no fragments, no repeats."""

from __future__ import annotations

from qa.answer_selection import select_answers
from qa.answers import Passage
from qa.reader import Span

DOC = "Jake Sullivan is the adviser. Jake Sullivan spoke. Antony Blinken is the secretary of state."


def passage(doc_id: str, start: int, end: int, text: str = DOC) -> Passage:
    return Passage(
        chunk_id=start, doc_id=doc_id, title=doc_id, text=text[start:end], start=start, end=end, page=None, score=1.0
    )


def span(context: int, passages: list[Passage], phrase: str, score: float, occurrence: int = 0) -> Span:
    text = passages[context].text
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(phrase, start + 1)
    return Span(context, start, start + len(phrase), phrase, score, score / 2, score / 2)


def test_best_first_above_threshold_and_at_most_max_answers() -> None:
    passages = [passage("a", 0, len(DOC))]
    spans = [
        span(0, passages, "Jake Sullivan", 12.0),
        span(0, passages, "Antony Blinken", 9.0),
        span(0, passages, "the adviser", 7.0),
        span(0, passages, "spoke", 3.0),
    ]
    answers = select_answers(spans, passages, max_answers=2, threshold=5.0)
    assert [a.text for a in answers] == ["Jake Sullivan", "Antony Blinken"]
    assert all(DOC[a.citation.start : a.citation.end] == a.text for a in answers)
    assert answers[0].confidence > answers[1].confidence > 0.5
    assert [a.text for a in select_answers(spans, passages, max_answers=10, threshold=5.0)][-1] == "the adviser"
    assert select_answers(spans, passages, max_answers=3, threshold=20.0) == []


def test_fragments_extensions_and_repeats_of_a_better_answer_are_skipped() -> None:
    # Two overlapping chunks of the same document: the same words found twice.
    passages = [passage("a", 0, 50), passage("a", 30, len(DOC))]
    spans = [
        span(0, passages, "Jake Sullivan", 12.0),  # 0:13
        span(0, passages, "Jake", 11.0),  # a fragment of the first
        span(0, passages, "Jake Sullivan is the adviser", 10.5),  # an extension of it
        span(0, passages, "Jake Sullivan", 10.0, occurrence=1),  # the same text elsewhere: a repeat
        span(1, passages, "Antony Blinken", 9.0),
    ]
    answers = select_answers(spans, passages, max_answers=5, threshold=5.0)
    assert [a.text for a in answers] == ["Jake Sullivan", "Antony Blinken"]
    assert answers[1].citation.start == DOC.index("Antony Blinken")


def test_the_same_offsets_in_another_document_are_another_answer() -> None:
    other = "Wendy Sherman is the deputy secretary."
    passages = [passage("a", 0, len(DOC)), passage("b", 0, len(other), other)]
    spans = [span(0, passages, "Jake Sullivan", 12.0), span(1, passages, "Wendy Sherman", 11.0)]
    answers = select_answers(spans, passages, max_answers=3, threshold=5.0)
    assert [(a.citation.doc_id, a.citation.start) for a in answers] == [("a", 0), ("b", 0)]
