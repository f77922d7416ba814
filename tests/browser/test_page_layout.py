"""The chat page's layout in a real browser: phone width, keyboard focus, the README screenshot."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (pip install playwright)")

from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.conftest import REPO, Server  # noqa: E402
from tests.browser.page_steps import SEED_QUESTION, STATION_TEXT, ask, delete_via_api  # noqa: E402

pytestmark = pytest.mark.browser


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
    # Other tests on this session's server may have left documents behind: count what is there.
    listed = len(server.http.get("/documents", params={"limit": 200}).json()["documents"])
    try:
        for title, text in extra.items():
            response = server.http.post("/documents", json={"text": text, "title": title})
            assert response.status_code == 201, response.text
        page.reload()
        expect(page.locator("#document-list .doc-item")).to_have_count(listed + len(extra))

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
