"""The chat page against a server that needs API keys, in a real browser: it asks for a key, then works;
a reader key cannot upload and the page says why; a wrong key is asked for again."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (pip install playwright)")

from playwright.sync_api import Page, expect  # noqa: E402

from bench.server import free_port, uvicorn_command, wait_for_health  # noqa: E402
from index.store import open_key_store  # noqa: E402
from qa.keys import KeyService  # noqa: E402
from tests.browser.conftest import REPO, SERVER_START_TIMEOUT_S, seed_file  # noqa: E402

pytestmark = pytest.mark.browser
ANSWER_TIMEOUT_MS = 90_000


@dataclass(frozen=True)
class KeyedServer:
    url: str
    keys: dict[str, str]


@pytest.fixture(scope="module")
def keyed_server(chromium_path, tmp_path_factory) -> Iterator[KeyedServer]:
    """Its own uvicorn (keys would turn auth on for the other browser tests' server), seeded before the
    first key exists (loopback, auth auto: open until then), then a reader and a writer key."""
    data_dir = tmp_path_factory.mktemp("auth-browser-data")
    log_path = data_dir.parent / "auth-browser-server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SPANQA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(uvicorn_command(port), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_health(url, process, log_path, SERVER_START_TIMEOUT_S)
        with seed_file().open("rb") as f:
            files = {"file": ("seed.txt", f, "text/plain")}
            response = httpx.post(f"{url}/documents", files=files, data={"id": "seed"}, timeout=120)
        assert response.status_code == 201, response.text
        service = KeyService(open_key_store(data_dir))
        yield KeyedServer(url, {role: service.create(f"{role} key", role).key for role in ("reader", "writer")})
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def page(browser, keyed_server) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(keyed_server.url + "/")
    yield page
    context.close()
    assert not errors, errors


def enter_key(page: Page, key: str, accepted: bool = True) -> None:
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("This server needs an API key")
    dialog.get_by_label("API key").fill(key)
    dialog.get_by_role("button", name="Use this key").click()
    if accepted:
        expect(dialog).to_be_hidden()


def test_the_page_asks_for_a_key_then_answers(page: Page, keyed_server: KeyedServer):
    enter_key(page, keyed_server.keys["reader"])
    expect(page.locator("#document-list .doc-item").first).to_be_visible()
    box = page.get_by_label("Your question")
    box.fill("Who is the US national security adviser?")
    box.press("Enter")
    reply = page.locator("#messages > li.msg-bot:not(.msg-pending)").first
    expect(reply).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(reply).not_to_contain_text("API key")
    assert page.evaluate("sessionStorage.getItem('spanqa-api-key')") == keyed_server.keys["reader"]


def test_a_reader_key_cannot_upload_and_the_page_says_why(page: Page, keyed_server: KeyedServer):
    enter_key(page, keyed_server.keys["reader"])
    expect(page.locator("#document-list .doc-item").first).to_be_visible()
    page.locator("#file-input").set_input_files({"name": "note.txt", "mimeType": "text/plain", "buffer": b"A note."})
    status = page.locator('#upload-status .status-line[data-file="note.txt"]')
    expect(status).to_contain_text("needs a writer key", timeout=ANSWER_TIMEOUT_MS)
    expect(status).to_contain_text("role is reader")


def test_a_wrong_key_is_asked_for_again_and_a_writer_can_upload(page: Page, keyed_server: KeyedServer):
    enter_key(page, "spanqa_000000000000_" + "x" * 43, accepted=False)
    expect(page.get_by_role("dialog")).to_contain_text("not accepted")
    enter_key(page, keyed_server.keys["writer"])
    page.locator("#file-input").set_input_files({"name": "owls.txt", "mimeType": "text/plain", "buffer": b"Owls hunt."})
    status = page.locator('#upload-status .status-line[data-file="owls.txt"]')
    expect(status).not_to_have_class("status-line status-pending", timeout=ANSWER_TIMEOUT_MS)
    expect(status).not_to_contain_text("Couldn't")


def test_cancelling_the_key_prompt_asks_once_and_says_why(page: Page):
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("This server needs an API key")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator("#document-list")).to_contain_text("needs an API key")
    expect(page.locator("#collection-status")).to_contain_text("needs an API key")
    expect(page.get_by_role("dialog")).to_have_count(0)
