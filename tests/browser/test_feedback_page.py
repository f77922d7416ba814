"""Feedback that flows back into the model, end to end: in a real browser a person marks answers
right or wrong and selects the right words in the document view; `GET /feedback/export` turns that
into SQuAD 2.0; `spanqa train-reader` trains a tiny run on it, continuing from the shipped reader;
`spanqa reader promote` refuses a reader that is not better and accepts one that is (scored on the
export itself: held in, which is fine for a test of the loop, not a claim about the reader).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (pip install playwright)")

from playwright.sync_api import Locator, Page, expect  # noqa: E402

from qa.reader_choice import read_choice  # noqa: E402
from tests.browser.conftest import Server  # noqa: E402
from tests.browser.page_steps import STATION_QUESTION, STATION_TEXT, ask  # noqa: E402
from tests.conftest import SHIPPED_READER as SHIPPED  # noqa: E402
from tests.conftest import spanqa_cli  # noqa: E402

pytestmark = pytest.mark.browser

# Questions the shipped reader gets partly wrong on the sample article (issue 12), and the right words.
CORRECTIONS = [
    ("On what date did Putin announce a military operation in Ukraine?", "February 24, 2022"),
    ("Which publication highlighted the link to the Convention on cluster munitions?", "Il Fatto Quotidiano"),
]
CONFIRMED = "Who is the US national security adviser?"

# Where a span of the open document's text (UTF-16 offsets) is on screen: the middle of the left
# edge of its first character and of the right edge of its last, scrolled into view first.
SPAN_ON_SCREEN = """([from, to]) => {
  const root = document.querySelector("#viewer-body .doc-text");
  const locate = (offset) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let seen = 0;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (offset < seen + node.length) return [node, offset - seen];
      seen += node.length;
    }
    throw new Error("offset outside the document");
  };
  const rectOf = (offset) => {
    const [node, at] = locate(offset);
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + 1);
    return range.getBoundingClientRect();
  };
  const body = document.getElementById("viewer-body");
  body.scrollTop += rectOf(from).top - body.getBoundingClientRect().top - 80;
  const first = rectOf(from), last = rectOf(to - 1);
  return { x0: first.left + 1, y0: first.top + first.height / 2, x1: last.right - 1, y1: last.top + last.height / 2 };
}"""


def select_in_viewer(page: Page, words: str) -> None:
    """Selects `words` in the document view by dragging the mouse over them, as a person would."""
    text = page.locator("#viewer-body .doc-text").text_content() or ""
    start = len(text[: text.index(words)].encode("utf-16-le")) // 2  # the page counts UTF-16 code units
    box = page.evaluate(SPAN_ON_SCREEN, [start, start + len(words.encode("utf-16-le")) // 2])
    page.mouse.move(box["x0"], box["y0"])
    page.mouse.down()
    page.mouse.move(box["x1"], box["y1"], steps=8)
    page.mouse.up()


def correct_by_selection(page: Page, reply: Locator, words: str) -> None:
    card = reply.locator(".answer-primary")
    card.get_by_role("button", name="Wrong:").click()
    card.get_by_role("button", name="Select the right words in the document").click()
    viewer = page.locator("#viewer")
    expect(viewer.locator(".doc-text mark")).to_be_visible()
    send = viewer.get_by_role("button", name="Send selected words as the right answer")
    send.click()  # nothing selected yet: a readable hint, nothing sent
    expect(viewer.locator(".feedback-bar-status")).to_contain_text("Select some words of the document first")
    select_in_viewer(page, words)
    send.click()
    expect(viewer).to_be_hidden()
    expect(card.locator(".feedback-status")).to_have_text(f"Thanks: “{words}” was recorded as the right answer.")


def test_thumbs_down_and_a_selected_span_train_a_reader_that_promote_judges(
    page: Page, server: Server, reader_record_dir
):
    before = server.http.get("/feedback").json()["total"]
    for question, words in CORRECTIONS:
        correct_by_selection(page, ask(page, question), words)
    confirmed = ask(page, CONFIRMED).locator(".answer-primary")
    confirmed.get_by_role("button", name="Right:").click()
    expect(confirmed.locator(".feedback-status")).to_have_text("Thanks: recorded as right.")
    expect(confirmed.get_by_role("button", name="Right:")).to_be_disabled()

    records = server.http.get("/feedback", params={"limit": 3}).json()
    assert records["total"] == before + 3
    newest_first = records["feedback"]
    assert [r["question"] for r in newest_first] == [CONFIRMED] + [q for q, _ in reversed(CORRECTIONS)]
    for record, (_, words) in zip(newest_first[1:], reversed(CORRECTIONS)):
        assert record["verdict"] == "wrong" and record["correction"]["text"] == words
        document = server.http.get(f"/documents/{record['correction']['doc_id']}").json()
        assert document["text"][record["correction"]["start"] : record["correction"]["end"]] == words

    response = server.http.get("/feedback/export")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    export = reader_record_dir.parent / "feedback-export.json"
    export.write_text(response.text, encoding="utf-8")
    squad = json.loads(response.text)
    gold = {
        qa["question"]: [a["text"] for a in qa["answers"]]
        for a in squad["data"]
        for p in a["paragraphs"]
        for qa in p["qas"]
    }
    assert {q: gold[q] for q, _ in CORRECTIONS} == {q: [w] for q, w in CORRECTIONS}

    def train(out: Path, lr: float, epochs: int) -> Path:
        run = spanqa_cli(
            "train-reader", export, "--out", out, "--base", SHIPPED, "--epochs", epochs, "--lr", lr,
            "--batch-size", 16, "--warmup", 0, "--checkpoint-every", 0, "--device", "cpu",
        )  # fmt: skip
        assert run.exit_code == 0, run.output
        return out

    unchanged = train(reader_record_dir.parent / "tiny-lr-reader", lr=1e-9, epochs=1)  # the same answers: a tie
    refused = spanqa_cli("reader", "promote", unchanged, "--dev", export)
    assert refused.exit_code == 1, refused.output
    assert "refused" in refused.output and read_choice(reader_record_dir) is None

    better = train(reader_record_dir.parent / "feedback-reader", lr=2e-4, epochs=4)
    promoted = spanqa_cli("reader", "promote", better, "--dev", export)
    assert promoted.exit_code == 0, promoted.output
    assert "promoted" in promoted.output
    choice = read_choice(reader_record_dir)
    assert choice is not None and choice.path == str(better.resolve())
    assert choice.scores["candidate"]["f1"] > choice.scores["current"]["f1"]


def test_no_answer_confirmed_and_answers_marked_wrong_without_words(page: Page, server: Server):
    cookies = "What is the recipe for chocolate chip cookies?"
    assert server.http.post("/ask", json={"question": cookies}).json()["no_answer"], "precondition: no answer"
    reply = ask(page, cookies)
    reply.get_by_role("button", name="Right: “no answer” is correct").click()
    expect(reply.locator(".feedback-status")).to_have_text("Thanks: recorded as right.")
    newest = server.http.get("/feedback", params={"limit": 1}).json()["feedback"][0]
    assert (newest["question"], newest["answer"], newest["verdict"]) == (cookies, None, "correct")

    sanctions = "What did the decision lead to against Russia?"
    card = ask(page, sanctions).locator(".answer-primary")
    card.get_by_role("button", name="Wrong:").click()
    expect(card.get_by_role("button", name="Right:")).to_be_disabled()
    card.get_by_role("button", name="Not in the documents").click()
    expect(card.locator(".feedback-status")).to_have_text("Thanks: recorded that the documents do not answer this.")
    newest = server.http.get("/feedback", params={"limit": 1}).json()["feedback"][0]
    shown = card.locator(".answer-text").text_content()
    assert newest["answer"]["text"] == shown and newest["correction"] == {"no_answer": True}

    card = ask(page, CONFIRMED).locator(".answer-primary")
    card.get_by_role("button", name="Wrong:").click()
    card.get_by_role("button", name="Just mark it wrong").click()
    expect(card.locator(".feedback-status")).to_have_text("Thanks: recorded as wrong.")
    newest = server.http.get("/feedback", params={"limit": 1}).json()["feedback"][0]
    assert (newest["question"], newest["verdict"], newest["correction"]) == (CONFIRMED, "wrong", None)


def test_a_selection_after_characters_outside_the_bmp_is_sent_in_code_points(page: Page, server: Server):
    """JavaScript counts an emoji as two code units, the API as one code point: the span must hold."""
    added = server.http.post("/documents", json={"id": "station", "title": "Station notes", "text": STATION_TEXT})
    assert added.status_code == 201, added.text
    try:
        card = ask(page, STATION_QUESTION).locator(".answer-primary")
        card.get_by_role("button", name="Wrong:").click()
        card.get_by_role("button", name="Select the right words in the document").click()
        select_in_viewer(page, "the glaciologist Mireille Okonkwo")
        page.get_by_role("button", name="Send selected words as the right answer").click()
        expect(page.locator("#viewer")).to_be_hidden()
        newest = server.http.get("/feedback", params={"limit": 1}).json()["feedback"][0]
        correction = newest["correction"]
        assert correction["text"] == "the glaciologist Mireille Okonkwo"
        assert STATION_TEXT[correction["start"] : correction["end"]] == correction["text"]
    finally:
        server.http.delete("/documents/station")
