"""The chat page in a real browser against the real app: asking, highlights, places, views, no answer."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (pip install playwright)")

from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.conftest import Server  # noqa: E402
from tests.browser.page_steps import SEED_QUESTION, api_ask, ask, delete_via_api  # noqa: E402

pytestmark = pytest.mark.browser


def test_answer_highlight_is_the_api_answer(page: Page, server: Server):
    expected = api_ask(server, SEED_QUESTION)
    assert not expected["no_answer"], expected
    best = expected["answers"][0]
    assert "Sullivan" in best["text"]

    page.evaluate("""() => {
        window.__sawBusy = false;
        new MutationObserver(() => {
            if (document.querySelector('#ask-button').disabled && document.querySelector('.msg-pending'))
                window.__sawBusy = true;
        }).observe(document.body, {subtree: true, childList: true, attributes: true});
    }""")
    reply = ask(page, SEED_QUESTION)

    card = reply.locator(".answer-primary")
    expect(card.locator(".passage mark")).to_have_count(1)
    assert card.locator(".passage mark").text_content() == best["text"]
    assert card.locator(".passage").text_content() == best["passage"]["text"]
    assert card.locator(".answer-text").text_content() == best["text"]
    percent = min(99, max(1, round(best["confidence"] * 100)))
    expect(card.locator(".confidence")).to_have_text(f"{percent}% confidence")
    expect(card.locator(".source-title")).to_have_text(best["title"])
    expect(reply.locator(".timing")).to_contain_text("Answered in")
    assert page.evaluate("window.__sawBusy"), "no busy state was shown while the question was in flight"
    expect(page.locator("#ask-button")).to_be_enabled()
    expect(page.get_by_label("Your question")).to_have_value("")
    expect(page.get_by_label("Your question")).to_be_focused()
    expect(page.locator("#announcer")).to_contain_text(best["text"])
    expect(page.locator("#messages .msg-user .bubble").last).to_have_text(SEED_QUESTION)

    others = expected["answers"][1:]
    if others:
        candidates = reply.locator("details.candidates")
        expect(candidates.locator(".answer-card")).to_have_count(len(others))
        expect(candidates.locator(".answer-card").first).to_be_hidden()
        candidates.locator("summary").click()
        first_other = candidates.locator(".answer-card").first
        expect(first_other).to_be_visible()
        assert first_other.locator(".passage mark").text_content() == others[0]["text"]


def test_one_answer_lists_every_place_and_low_confidence_is_tentative(page: Page, server: Server):
    """Two documents say who founded the observatory: one answer, the other place listed under it;
    the card is styled tentative exactly when the calibrated confidence is below one half."""
    fact = "The Kestrel observatory was founded in 1962 by the astronomer Ingrid Solvang."
    texts = {
        "Observatory history": f"{fact} It stands on a ridge above the fjord.",
        "Observatory visitor guide": f"Visitors often ask about its origins. {fact} Tours start at noon.",
    }
    for title, text in texts.items():
        response = server.http.post("/documents", json={"text": text, "title": title})
        assert response.status_code in (200, 201), response.text
    question = "Who founded the Kestrel observatory?"
    try:
        expected = api_ask(server, question)
        assert not expected["no_answer"], expected
        best = expected["answers"][0]
        assert "Solvang" in best["text"]
        assert len(best["citations"]) >= 2, best["citations"]
        reply = ask(page, question)
        card = reply.locator(".answer-primary")
        places = card.locator(".other-places .other-place")
        expect(places).to_have_count(len(best["citations"]) - 1)
        expect(card.locator(".other-places-title")).to_contain_text("Also found in")
        other_titles = {c["title"] for c in best["citations"][1:]}
        assert {places.nth(i).locator(".source-title").text_content() for i in range(places.count())} == other_titles
        if best["confidence"] < 0.5:
            expect(card).to_have_class(re.compile(r"\banswer-tentative\b"))
            expect(card.locator(".tentative-note")).to_be_visible()
        else:
            expect(card).not_to_have_class(re.compile(r"\banswer-tentative\b"))
        places.first.get_by_role("button", name=re.compile("View")).click()
        expect(page.locator("#viewer-title")).to_have_text(best["citations"][1]["title"])
        expect(page.locator("#viewer-body mark")).to_have_text(best["citations"][1]["text"])
        page.keyboard.press("Escape")
    finally:
        for title in texts:
            delete_via_api(server, title)


def test_shift_enter_adds_a_line_without_sending(page: Page):
    box = page.get_by_label("Your question")
    box.click()
    box.press_sequentially("first line")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    expect(box).to_have_value("first line\nsecond line")
    expect(page.locator("#messages > li")).to_have_count(0)
    box.fill("   ")
    box.press("Enter")
    expect(page.locator("#messages > li")).to_have_count(0)


def test_view_in_document_scrolls_to_the_highlighted_span(page: Page, server: Server):
    question = "Who authorized the delivery of the ammunition?"
    best = api_ask(server, question)["answers"][0]
    document = server.http.get(f"/documents/{best['doc_id']}").json()
    assert document["text"][best["start"] : best["end"]] == best["text"]

    reply = ask(page, question)
    reply.locator(".answer-primary").get_by_role("button", name="View").click()

    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    expect(page.locator("#viewer-title")).to_have_text(document["title"])
    mark = page.locator("#viewer-body mark")
    expect(mark).to_have_count(1)
    assert mark.text_content() == best["text"]
    assert page.locator("#viewer-body").text_content() == document["text"]
    expect(mark).to_be_in_viewport()
    expect(mark).to_be_focused()

    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()


def test_unanswerable_question_shows_no_answer_and_closest_passages(page: Page, server: Server):
    question = "What is the recipe for chocolate chip cookies?"
    expected = api_ask(server, question)
    assert expected["no_answer"], f"precondition: the API should find no answer, got {expected['answers'][:1]}"

    reply = ask(page, question)
    expect(reply.locator(".no-answer")).to_contain_text("The documents don't contain an answer")
    expect(reply.locator(".answer-card")).to_have_count(0)
    if expected["passages"]:
        expect(reply.locator(".closest")).to_contain_text("You may look here")
        expect(reply.locator(".closest-item")).to_have_count(len(expected["passages"]))
        assert reply.locator(".closest-item .passage").first.text_content() == expected["passages"][0]["text"]
