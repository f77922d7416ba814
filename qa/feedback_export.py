"""Feedback as SQuAD 2.0 training data (what `GET /feedback/export` returns).

Each usable record becomes one question on the window of the document cut around its gold span
when the feedback was given (`answer_start` relative to that window), under an article titled by
the document's id:

- `correct` on an answer: the answer is gold;
- `wrong` with a corrected span: the correction is gold (on the correction's window);
- `wrong` with `no_answer`: `is_impossible` on the window where the wrong answer was found (which
  is kept as its `plausible_answers`, as SQuAD 2.0 does);
- `wrong` without a correction, and `correct` on "no answer" (no passage to cut a context from):
  skipped, and counted with the reason in `summary`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from index.store.protocol import NO_ANSWER, Feedback, FeedbackSpan

SKIP_NO_CORRECTION = "verdict 'wrong' without a correction"
SKIP_NO_CONTEXT = "'no answer' confirmed correct: no passage to cut a context from"


def question_id(feedback: Feedback) -> str:
    return f"feedback-{feedback.id}"


def _answer(span: FeedbackSpan) -> dict[str, Any]:
    return {"text": span.text, "answer_start": span.start - span.context_start}


def squad_example(feedback: Feedback) -> tuple[FeedbackSpan, dict[str, Any]] | str:
    """The span whose window is the context and the SQuAD question on it; or why it is skipped."""
    qa: dict[str, Any] = {"id": question_id(feedback), "question": feedback.question}
    if feedback.verdict == "correct":
        if feedback.answer is None:
            return SKIP_NO_CONTEXT
        return feedback.answer, {**qa, "answers": [_answer(feedback.answer)], "is_impossible": False}
    if isinstance(feedback.correction, FeedbackSpan):
        return feedback.correction, {**qa, "answers": [_answer(feedback.correction)], "is_impossible": False}
    if feedback.correction == NO_ANSWER and feedback.answer is not None:
        plausible = [_answer(feedback.answer)]
        return feedback.answer, {**qa, "answers": [], "plausible_answers": plausible, "is_impossible": True}
    return SKIP_NO_CORRECTION


def squad_export(records: Iterable[Feedback]) -> dict[str, Any]:
    """SQuAD 2.0 JSON of `records` (same window of a document: one paragraph), with a summary."""
    articles: dict[str, dict[tuple[int, str], list[dict[str, Any]]]] = {}
    skipped: list[dict[str, Any]] = []
    total = answered = impossible = 0
    for feedback in records:
        total += 1
        example = squad_example(feedback)
        if isinstance(example, str):
            skipped.append({"id": question_id(feedback), "reason": example})
            continue
        span, qa = example
        articles.setdefault(span.doc_id, {}).setdefault((span.context_start, span.context), []).append(qa)
        impossible += qa["is_impossible"]
        answered += not qa["is_impossible"]
    data = [
        {"title": doc_id, "paragraphs": [{"context": context, "qas": qas} for (_, context), qas in windows.items()]}
        for doc_id, windows in articles.items()
    ]
    summary = {
        "feedback": total,
        "exported": answered + impossible,
        "answerable": answered,
        "unanswerable": impossible,
        "skipped": len(skipped),
        "skipped_by_reason": dict(Counter(s["reason"] for s in skipped)),
        "skipped_questions": skipped,
    }
    return {"version": "v2.0", "data": data, "summary": summary}
