"""The feedback export's pieces without the app: the window cut around a span, and what each kind of
feedback becomes in SQuAD 2.0 (fast; the real app's export is tested in test_feedback.py)."""

from __future__ import annotations

import pytest

from index.store import StoreConfig, open_store
from qa.feedback import NO_ANSWER, FeedbackService, SpanRef, context_window
from qa.feedback_export import SKIP_NO_CONTEXT, SKIP_NO_CORRECTION
from tests.index.store_contract import DIM, item

TEXT = " ".join(f"word{i:03d}" for i in range(200))  # 1,599 characters of eight-letter words


@pytest.mark.parametrize(("start", "end"), [(0, 7), (800, 807), (1592, 1599), (396, 420)])
def test_the_window_holds_the_span_and_whole_words(start, end):
    context, at = context_window(TEXT, start, end, chars=100)
    assert TEXT[at : at + len(context)] == context and at <= start and end <= at + len(context)
    assert at == 0 or TEXT[at - 1] == " "
    assert at + len(context) == len(TEXT) or TEXT[at + len(context)] == " "
    assert len(context) <= (end - start) + 200


@pytest.fixture
def service(tmp_path):
    store = open_store(StoreConfig(tmp_path, DIM, "test", backend="memory"))
    store.add(*item("doc", TEXT))
    yield FeedbackService(store.feedback, store.get_document, clock=iter(range(1, 100)).__next__)
    store.close()


def test_each_kind_of_feedback_in_the_export(service):
    answer, right = SpanRef("doc", 400, 407), SpanRef("doc", 1200, 1215)
    service.give("Q correct?", answer, "correct")
    service.give("Q corrected?", answer, "wrong", right)
    service.give("Q not there?", answer, "wrong", NO_ANSWER)
    service.give("Q just wrong?", answer, "wrong")
    service.give("Q missed?", None, "wrong", right)
    service.give("Q rightly unanswered?", None, "correct")
    export = service.export()
    qas = {qa["question"]: (p["context"], qa) for p in export["data"][0]["paragraphs"] for qa in p["qas"]}
    gold = {
        q: [c[a["answer_start"] : a["answer_start"] + len(a["text"])] for a in qa["answers"]]
        for q, (c, qa) in qas.items()
    }
    assert gold == {
        "Q correct?": [TEXT[400:407]],
        "Q corrected?": [TEXT[1200:1215]],
        "Q not there?": [],
        "Q missed?": [TEXT[1200:1215]],
    }
    context, impossible = qas["Q not there?"]
    assert impossible["is_impossible"] and context == qas["Q correct?"][0]
    assert impossible["plausible_answers"] == qas["Q correct?"][1]["answers"]
    assert export["summary"]["skipped_by_reason"] == {SKIP_NO_CORRECTION: 1, SKIP_NO_CONTEXT: 1}
    assert [s["id"] for s in export["summary"]["skipped_questions"]] == ["feedback-4", "feedback-6"]
    assert len(export["data"][0]["paragraphs"]) == 2  # the answer's window and the correction's
