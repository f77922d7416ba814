"""The chat page in a real browser against the real app: ask, highlight, view, upload, delete, errors."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (pip install playwright)")

from playwright.sync_api import Locator, Page, expect  # noqa: E402

from tests.browser.conftest import MAX_UPLOAD_BYTES, REPO, Server  # noqa: E402

pytestmark = pytest.mark.browser

SEED_QUESTION = "Who is the US national security adviser?"
ANSWER_TIMEOUT_MS = 90_000

# A small document whose answer sits behind characters outside the BMP (emoji): JavaScript counts
# those as two code units and Python as one code point, so a wrong offset conversion would show.
STATION_TEXT = (
    "🛰️ Field notes from the far south 🧊\n\n"
    "The Aurora research station was founded in 1987 by the glaciologist Mireille Okonkwo. "
    "It sits on the Larsen plateau and houses twelve scientists during the long polar winter. "
    "Supplies arrive twice a year by icebreaker from Punta Arenas.\n"
)
STATION_QUESTION = "Who founded the Aurora research station?"

PAYLOAD_TEXT = (
    "Security notes for the lighthouse.\n\n"
    "The lighthouse keeper of Skerry Point is Tobias Wrenfield. "
    "<script>window.__spanqaXss = 'script'; alert('script ran')</script> "
    "<img src=x onerror=\"window.__spanqaXss = 'img'; alert('img ran')\"> "
    "He has kept the light burning every night since the winter of 1994.\n"
)
PAYLOAD_QUESTION = "Who is the lighthouse keeper of Skerry Point?"


def api_ask(server: Server, question: str) -> dict:
    response = server.http.post("/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()


def ask(page: Page, question: str) -> Locator:
    """Types `question`, presses Enter and returns the reply that replaces the busy message."""
    replies = page.locator("#messages > li.msg-bot:not(.msg-pending)")
    before = replies.count()
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    reply = replies.nth(before)
    expect(reply).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    return reply


def doc_item(page: Page, title: str) -> Locator:
    return page.locator("#document-list .doc-item").filter(has=page.locator(".doc-title", has_text=title))


def upload_from_picker(page: Page, name: str, data: bytes, mime: str = "text/plain") -> Locator:
    """Uploads through the file input; returns the status line for this file."""
    page.locator("#file-input").set_input_files({"name": name, "mimeType": mime, "buffer": data})
    status = page.locator("#upload-status .status-line").and_(page.locator(f'[data-file="{name}"]'))
    expect(status).not_to_have_class("status-line status-pending", timeout=ANSWER_TIMEOUT_MS)
    return status


def delete_via_api(server: Server, title: str) -> None:
    for doc in server.http.get("/documents", params={"limit": 200}).json()["documents"]:
        if doc["title"] == title:
            server.http.delete(f"/documents/{doc['id']}")


# ----------------------------------------------------------------- asking


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


# -------------------------------------------------------------- documents


def test_upload_ask_and_delete_a_document(page: Page, server: Server):
    title = "aurora-station"
    try:
        status = upload_from_picker(page, f"{title}.txt", STATION_TEXT.encode())
        expect(status).to_have_class("status-line status-ok")
        expect(status).to_contain_text("Added")
        item = doc_item(page, title)
        expect(item).to_have_count(1)
        expect(item.locator(".doc-meta")).to_contain_text("chunk")

        expected = api_ask(server, STATION_QUESTION)
        best = expected["answers"][0]
        assert "Okonkwo" in best["text"], expected["answers"]
        reply = ask(page, STATION_QUESTION)
        card = reply.locator(".answer-primary")
        assert card.locator(".passage mark").text_content() == best["text"]
        expect(card.locator(".source-title")).to_have_text(best["title"])

        # View in document: the highlight is exact despite the emoji before it.
        card.get_by_role("button", name="View").click()
        assert page.locator("#viewer-body mark").text_content() == best["text"]
        page.locator("#viewer-close").click()
        expect(page.locator("#viewer")).to_be_hidden()

        # Dismissing the confirmation keeps the document.
        page.once("dialog", lambda dialog: dialog.dismiss())
        item.get_by_role("button", name=f"Delete {title}").click()
        expect(item).to_have_count(1)
        assert any(d["title"] == title for d in server.http.get("/documents").json()["documents"])

        messages: list[str] = []

        def accept(dialog):
            messages.append(dialog.message)
            dialog.accept()

        page.once("dialog", accept)
        item.get_by_role("button", name=f"Delete {title}").click()
        expect(item).to_have_count(0)
        assert messages and title in messages[0]
        expect(page.locator("#upload-status")).to_contain_text(f"Deleted “{title}”")
        titles = [d["title"] for d in server.http.get("/documents").json()["documents"]]
        assert title not in titles
    finally:
        delete_via_api(server, title)


def test_drag_and_drop_uploads_a_file(page: Page, server: Server):
    name = "tide-tables.txt"
    text = "The harbour of Port Quill has two high tides a day. The harbour master is Ines Marlow.\n"
    try:
        transfer = page.evaluate_handle(
            """([name, text]) => {
                const transfer = new DataTransfer();
                transfer.items.add(new File([text], name, {type: 'text/plain'}));
                return transfer;
            }""",
            [name, text],
        )
        page.dispatch_event("#dropzone", "dragenter", {"dataTransfer": transfer})
        expect(page.locator("#drop-overlay")).to_be_visible()
        page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
        expect(page.locator("#drop-overlay")).to_be_hidden()
        expect(doc_item(page, "tide-tables")).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    finally:
        delete_via_api(server, "tide-tables")


def test_document_markup_is_shown_as_text_and_never_runs(page: Page, server: Server):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    title = "lighthouse-notes"
    try:
        status = upload_from_picker(page, f"{title}.txt", PAYLOAD_TEXT.encode())
        expect(status).to_have_class("status-line status-ok")

        reply = ask(page, PAYLOAD_QUESTION)
        card = reply.locator(".answer-primary")
        expect(card.locator(".passage mark")).to_contain_text("Wrenfield")
        expect(card.locator(".passage")).to_contain_text("<script>")
        expect(card.locator(".passage")).to_contain_text("<img src=x onerror=")

        card.get_by_role("button", name="View").click()
        expect(page.locator("#viewer-body")).to_contain_text("<script>window.__spanqaXss")
        page.locator("#viewer-close").click()

        page.wait_for_timeout(300)  # give a would-be onerror handler time to fire
        assert page.evaluate("typeof window.__spanqaXss") == "undefined"
        assert dialogs == []
        assert page.locator("#messages script, #messages img, #viewer script, #viewer img").count() == 0
    finally:
        delete_via_api(server, title)


# ----------------------------------------------------------------- errors


def without_numbers(text: str) -> str:
    return re.sub(r"[\d,]+", "#", text)


def api_upload_error(server: Server, name: str, data: bytes) -> str:
    """The server's own message for this upload (the page uploads through jobs: the file's error in the
    job's report), which the page must show."""
    job = server.http.post("/jobs", files={"files": (name, data)}).json()
    while job["status"] in ("queued", "running"):
        time.sleep(0.2)
        job = server.http.get(f"/jobs/{job['id']}").json()
    (failure,) = job["failed"]
    assert failure["file"] == name and isinstance(failure["error"], str) and failure["error"]
    return failure["error"]


def test_unsupported_file_type_shows_a_readable_message(page: Page, server: Server):
    data = b"MZ\x90\x00" + bytes(200)
    detail = api_upload_error(server, "installer.exe", data)
    status = upload_from_picker(page, "installer.exe", data, "application/octet-stream")
    expect(status).to_have_class("status-line status-error")
    expect(status).to_contain_text("Couldn't add “installer.exe”.")
    expect(status).to_contain_text(detail[1:])
    expect(page.locator("#document-list .doc-item").first).to_be_visible()


def test_too_large_upload_shows_a_readable_message(page: Page, server: Server):
    big = ("A line of filler text for the size limit test.\n" * (MAX_UPLOAD_BYTES // 12)).encode()
    assert len(big) > MAX_UPLOAD_BYTES
    detail = api_upload_error(server, "huge.txt", big)
    status = upload_from_picker(page, "huge.txt", big)
    expect(status).to_have_class("status-line status-error")
    expect(status).to_contain_text("Couldn't add “huge.txt”.")
    # The multipart body the browser builds has its own size, so compare the words, not the numbers.
    shown = status.text_content() or ""
    assert without_numbers(detail[1:]) in without_numbers(shown), (detail, shown)


def test_invalid_question_shows_the_server_message(page: Page):
    reply = ask(page, "why " * 400)  # 1600 characters: over max_question_chars
    error = reply.locator(".error-box")
    expect(error).to_have_attribute("role", "alert")
    text = error.locator(".error-text").text_content()
    assert text and len(text) > 10 and "{" not in text, text
    expect(page.locator("#ask-button")).to_be_enabled()


def test_unreachable_server_shows_a_message_and_retry_works(page: Page, server: Server):
    page.route("**/ask", lambda route: route.abort("connectionrefused"))
    reply = ask(page, SEED_QUESTION)
    expect(reply.locator(".error-text")).to_have_text(
        "Can't reach the spanqa server. Check that it is running, then try again."
    )
    expect(page.locator("#server-status")).to_have_text("Server unreachable")

    page.unroute("**/ask")
    reply.get_by_role("button", name="Try again").click()
    answer = page.locator("#messages .answer-primary")
    expect(answer).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    expect(answer.locator(".passage mark")).to_contain_text("Sullivan")
    expect(page.locator("#messages .msg-user")).to_have_count(1)


# ------------------------------------------------------- layout and looks


def test_phone_width_fits_the_screen_and_has_a_documents_drawer(browser, server: Server, output_dir: Path):
    width = 390
    context = browser.new_context(viewport={"width": width, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    widest = """() => Math.max(...Array.from(document.querySelectorAll('.topbar *, .chat *'))
        .filter((el) => el.getClientRects().length && !el.closest('.visually-hidden'))
        .map((el) => el.getBoundingClientRect().right))"""
    try:
        page.goto(server.url + "/")
        reply = ask(page, SEED_QUESTION)
        expect(reply.locator(".answer-primary .passage mark")).to_be_visible()
        assert page.evaluate(widest) <= width + 1  # sub-pixel layout on a mobile viewport
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(output_dir / "chat-phone-answer.png"))

        panel = page.locator("#documents-panel")
        expect(panel).to_be_hidden()
        toggle = page.locator("#docs-toggle")
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(panel.locator(".doc-item").first).to_be_visible()
        # polled from the test: wait_for_function evaluates a string inside the page, which the CSP forbids
        fits = "document.getElementById('documents-panel').getBoundingClientRect().right <= innerWidth"
        deadline = time.monotonic() + 10
        while not page.evaluate(fits):
            assert time.monotonic() < deadline, "the documents drawer does not fit the screen"
            page.wait_for_timeout(50)
        page.screenshot(path=str(output_dir / "chat-phone-documents.png"))
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(toggle).to_be_focused()
    finally:
        context.close()


def test_keyboard_reaches_every_control_with_a_visible_focus(page: Page):
    expect(page.get_by_label("Your question")).to_be_focused()
    reached: list[str] = []
    for _ in range(10):
        page.keyboard.press("Tab")
        info = page.evaluate("""() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {
                name: el.getAttribute('aria-label') || el.id || el.textContent.trim().slice(0, 30),
                outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
                labelOutline: el.id === 'file-input'
                    && getComputedStyle(el.nextElementSibling).outlineStyle !== 'none',
            };
        }""")
        assert info["outline"] or info["labelOutline"], f"no visible focus on {info['name']}"
        reached.append(info["name"])
        if info["name"].startswith("Delete "):
            break
    assert "ask-button" in reached
    assert "file-input" in reached
    assert any(name.startswith("Delete ") for name in reached), reached


def test_screenshot_of_an_answer(page: Page, server: Server, output_dir: Path):
    """The README's picture: a few documents, one answered question (SPANQA_UPDATE_SCREENSHOT=1 copies it)."""
    extra = {
        "Aurora research station notes": STATION_TEXT,
        "Port Quill harbour guide": "The harbour of Port Quill has two high tides a day. "
        "The harbour master is Ines Marlow.\n",
    }
    try:
        for title, text in extra.items():
            response = server.http.post("/documents", json={"text": text, "title": title})
            assert response.status_code == 201, response.text
        page.reload()
        expect(page.locator("#document-list .doc-item")).to_have_count(1 + len(extra))

        reply = ask(page, "Who authorized the delivery of the ammunition?")
        expect(reply.locator(".answer-primary .passage mark")).to_be_visible()
        page.mouse.move(0, 0)
        page.locator("body").evaluate("() => document.activeElement.blur()")
        path = output_dir / "chat-answer.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000
        if os.environ.get("SPANQA_UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(path, REPO / "docs" / "screenshot.png")
    finally:
        for title in extra:
            delete_via_api(server, title)
