"""What the chat page tests share: a question, documents with traps in them, and page steps."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Server

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
