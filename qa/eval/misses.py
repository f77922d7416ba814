"""Where a question was lost: one miss class per question that did not get an exact answer."""

from __future__ import annotations

from collections.abc import Sequence

from qa.eval.metrics import f1, normalize_answer

# In the order the classes are checked; the report shows them in this order.
MISS_CLASSES: dict[str, str] = {
    "answered-unanswerable": "answered a question the documents cannot answer",
    "retrieval": "the gold paragraph was not among the passages read",
    "abstained": "said no answer although the gold paragraph was read",
    "other-passage": "answered from another passage than the gold paragraph",
    "too-long": "right passage, the answer runs past the gold answer",
    "too-short": "right passage, the answer is part of the gold answer",
    "overlapping": "right passage, the answer overlaps the gold answer",
    "wrong-span": "right passage, a different span",
}


def classify_miss(
    *,
    has_answer: bool,
    prediction: str,
    golds: Sequence[str],
    exact: float,
    gold_retrieved: bool,
    cited_doc: str | None,
    gold_doc: str,
) -> str | None:
    """The miss class of one question (a key of MISS_CLASSES), None when it is right (EM)."""
    if exact == 1.0:
        return None
    if not has_answer:
        return "answered-unanswerable"
    if not gold_retrieved:
        return "retrieval"
    if not prediction:
        return "abstained"
    if cited_doc != gold_doc:
        return "other-passage"
    return boundary_miss(prediction, golds)


def boundary_miss(prediction: str, golds: Sequence[str]) -> str:
    """How a prediction from the right passage misses the closest gold answer (by F1)."""
    gold = max(golds, key=lambda g: f1(prediction, [g]))
    pred_n, gold_n = f" {normalize_answer(prediction)} ", f" {normalize_answer(gold)} "
    if gold_n in pred_n:
        return "too-long"
    if pred_n in gold_n:
        return "too-short"
    return "overlapping" if f1(prediction, [gold]) > 0 else "wrong-span"
