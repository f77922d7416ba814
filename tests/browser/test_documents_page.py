"""The chat page's documents and errors in a real browser: upload, drop, delete, markup, readable errors."""

from __future__ import annotations

import re
import time

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (pip install playwright)")

from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.conftest import MAX_UPLOAD_BYTES, Server  # noqa: E402
from tests.browser.page_steps import (  # noqa: E402
    ANSWER_TIMEOUT_MS,
    PAYLOAD_QUESTION,
    PAYLOAD_TEXT,
    SEED_QUESTION,
    STATION_QUESTION,
    STATION_TEXT,
    api_ask,
    ask,
    delete_via_api,
    doc_item,
    upload_from_picker,
)

pytestmark = pytest.mark.browser


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
