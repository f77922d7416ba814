"""Answer selection: which of the reader's spans become answers, and in what order.

The reader ranks candidate spans from every passage read on one score scale (start + end logit).
This module turns that n-best list into the answers shown: best first, at or above the no-answer
threshold, at most `max_answers`, and no answer that is a fragment or an extension of a better one.
"""

from __future__ import annotations

from collections.abc import Sequence

from qa.answers import Answer, Passage, make_answer
from qa.reader import Span, confidence


def select_answers(
    spans: Sequence[Span], passages: Sequence[Passage], max_answers: int, threshold: float
) -> list[Answer]:
    """Answers from `spans` (best first; `span.context_index` points into `passages`).

    Stops at the first span scoring under `threshold` or once `max_answers` are taken. A span that
    overlaps an answer already taken in the same document, or whose text (case and spacing aside)
    repeats one, is skipped: alternatives must be other answers, not a better answer's fragments or
    extensions (the same text found through an overlapping chunk, "Jake" under "Jake Sullivan").
    """
    answers: list[Answer] = []
    taken: list[tuple[str, int, int]] = []  # (doc_id, start, end) of answers so far
    seen_texts: set[str] = set()
    for span in spans:
        if span.score < threshold or len(answers) >= max_answers:
            break
        passage = passages[span.context_index]
        doc_start, doc_end = passage.start + span.start, passage.start + span.end
        norm = " ".join(span.text.lower().split())
        overlaps = any(d == passage.doc_id and s < doc_end and doc_start < e for d, s, e in taken)
        if overlaps or norm in seen_texts:
            continue
        taken.append((passage.doc_id, doc_start, doc_end))
        seen_texts.add(norm)
        answers.append(make_answer(passage, span.start, span.end, span.score, confidence(span.score, threshold)))
    return answers
