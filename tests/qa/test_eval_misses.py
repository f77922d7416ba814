"""Miss classes of the eval: each class from a hand-made case."""

from __future__ import annotations

import pytest

from qa.eval.misses import MISS_CLASSES, boundary_miss, classify_miss


def miss(**kw: object) -> str | None:
    args = dict(
        has_answer=True, prediction="x", golds=["x"], exact=0.0, gold_retrieved=True, cited_doc="p", gold_doc="p"
    )
    args.update(kw)
    return classify_miss(**args)  # type: ignore[arg-type]


def test_stages_in_order() -> None:
    assert miss(exact=1.0) is None
    assert miss(has_answer=False, golds=[]) == "answered-unanswerable"
    assert miss(gold_retrieved=False, prediction="") == "retrieval"
    assert miss(prediction="") == "abstained"
    assert miss(cited_doc="other") == "other-passage"
    assert set(MISS_CLASSES) >= {"retrieval", "abstained", "other-passage", "too-long", "too-short"}


@pytest.mark.parametrize(
    ("prediction", "golds", "expected"),
    [
        ("Il Fatto Quotidiano highlighted that the United States", ["Il Fatto Quotidiano"], "too-long"),
        ("February 24", ["February 24, 2022"], "too-short"),
        ("24, 2022 in Kyiv", ["February 24, 2022"], "overlapping"),
        ("a sequence of events", ["widespread sanctions"], "wrong-span"),
        ("Rollo", ["Duke Rollo", "Rollo of Normandy"], "too-short"),
    ],
)
def test_boundaries(prediction: str, golds: list[str], expected: str) -> None:
    assert boundary_miss(prediction, golds) == expected
