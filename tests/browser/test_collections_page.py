"""The chat page's collection picker in a real browser, against a server with auth on and two collections
holding different documents: a key sees only its collections, answers cite only the picked collection's
documents, switching changes the documents listed, an admin creates a collection from the page, a reader
cannot, and a picked collection that disappears falls back to `default` with a message."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (pip install playwright)")

from playwright.sync_api import Locator, Page, expect  # noqa: E402

from bench.server import serve  # noqa: E402
from index.store import open_key_store  # noqa: E402
from qa.keys import KeyService  # noqa: E402
from tests.browser.conftest import seed_file  # noqa: E402
from tests.browser.page_steps import ANSWER_TIMEOUT_MS, ask  # noqa: E402
from tests.browser.test_auth_page import enter_key  # noqa: E402

pytestmark = pytest.mark.browser

SEED_TITLE = "US cluster munitions for Ukraine"
PARIS_TITLE = "The Eiffel Tower"
PARIS_TEXT = (
    "The Eiffel Tower stands on the Champ de Mars in Paris. It is 330 metres tall and was completed in 1889 "
    "for the World's Fair. The tower was designed by the engineering company of Gustave Eiffel."
)


@dataclass(frozen=True)
class CollectionsServer:
    url: str
    http: httpx.Client  # with the admin key
    keys: dict[str, str]  # "admin", "alpha" (reader of alpha), "both" (reader of alpha and beta)


@pytest.fixture(scope="module")
def collections_server(chromium_path, tmp_path_factory) -> Iterator[CollectionsServer]:
    """Its own uvicorn with SPANQA_AUTH=on; the admin makes collections alpha (the seed document) and beta
    (a page about the Eiffel Tower) through the API; reader keys scoped to alpha, and to alpha and beta."""
    data_dir = tmp_path_factory.mktemp("collections-browser-data")
    with serve(data_dir, log_dir=data_dir.parent, env={"SPANQA_AUTH": "on", "TOKENIZERS_PARALLELISM": "false"}) as s:
        service = KeyService(open_key_store(data_dir))
        keys = {"admin": service.create("admin", "admin").key}
        headers = {"Authorization": f"Bearer {keys['admin']}"}
        with httpx.Client(base_url=s.url, headers=headers, timeout=120) as http:
            for name in ("alpha", "beta"):
                assert http.post("/collections", json={"name": name}).status_code == 201
            keys["alpha"] = service.create("alpha reader", "reader", ["alpha"]).key
            keys["both"] = service.create("alpha and beta reader", "reader", ["alpha", "beta"]).key
            with seed_file().open("rb") as f:
                files = {"file": ("seed.txt", f, "text/plain")}
                r = http.post("/collections/alpha/documents", files=files, data={"title": SEED_TITLE})
            assert r.status_code == 201, r.text
            r = http.post("/collections/beta/documents", json={"text": PARIS_TEXT, "title": PARIS_TITLE})
            assert r.status_code == 201, r.text
            yield CollectionsServer(s.url, http, keys)


@pytest.fixture
def page(browser, collections_server) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(collections_server.url + "/")
    yield page
    context.close()
    assert not errors, errors


def picker(page: Page) -> Locator:
    return page.get_by_label("Collection", exact=True)


def picker_names(page: Page) -> list[str]:
    return page.locator("#collection option").evaluate_all("options => options.map(o => o.value)")


def doc_titles(page: Page) -> Locator:
    return page.locator("#document-list .doc-item .doc-title")


def test_the_picker_lists_only_the_keys_collections_and_answers_cite_only_them(page: Page, collections_server):
    enter_key(page, collections_server.keys["alpha"])
    expect(doc_titles(page)).to_have_text([SEED_TITLE])
    assert picker_names(page) == ["alpha"]
    expect(picker(page)).to_have_value("alpha")

    reply = ask(page, "Who is the US national security adviser?")
    expect(reply.locator(".answer-primary .answer-text")).to_contain_text("Sullivan")
    titles = reply.locator("cite.source-title").all_text_contents()
    assert titles and set(titles) == {SEED_TITLE}
    paris = ask(page, "How tall is the Eiffel Tower?")  # beta's document: never seen from alpha
    expect(paris).not_to_contain_text(PARIS_TITLE)
    expect(paris).not_to_contain_text("330 metres")


def test_switching_collections_changes_the_documents_and_the_answers(page: Page, collections_server):
    enter_key(page, collections_server.keys["both"])
    expect(doc_titles(page)).to_have_text([SEED_TITLE])
    assert picker_names(page) == ["alpha", "beta"]

    picker(page).select_option("beta")
    expect(doc_titles(page)).to_have_text([PARIS_TITLE])
    expect(page.get_by_label("Your question")).to_have_attribute("placeholder", "Ask a question in beta…")
    reply = ask(page, "How tall is the Eiffel Tower?")
    expect(reply.locator(".answer-primary .answer-text")).to_contain_text("330")
    assert set(reply.locator("cite.source-title").all_text_contents()) == {PARIS_TITLE}
    assert page.evaluate("sessionStorage.getItem('spanqa-collection')") == "beta"

    page.reload()  # the choice is kept for the tab (and the key too)
    expect(picker(page)).to_have_value("beta")
    expect(doc_titles(page)).to_have_text([PARIS_TITLE])
    picker(page).select_option("alpha")
    expect(doc_titles(page)).to_have_text([SEED_TITLE])
    expect(page.locator("#messages > li")).to_have_count(0)  # the conversation was in another collection


def test_an_admin_creates_a_collection_from_the_page(page: Page, collections_server):
    enter_key(page, collections_server.keys["admin"])
    expect(picker(page)).to_have_value("default")
    page.get_by_role("button", name="New collection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Not A Name!")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_contain_text("lowercase letters")
    dialog.get_by_label("Name").fill("gamma")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()
    expect(picker(page)).to_have_value("gamma")
    expect(page.locator("#collection-status")).to_contain_text("Created collection “gamma”")
    expect(page.locator("#document-list")).to_contain_text("No documents yet")
    listed = collections_server.http.get("/collections").json()["collections"]
    assert {"name": "gamma", "documents": 0, "chunks": 0} in listed


def test_a_reader_is_not_offered_to_create_a_collection_and_the_server_refuses(page: Page, collections_server):
    enter_key(page, collections_server.keys["alpha"])
    expect(doc_titles(page)).to_have_text([SEED_TITLE])
    expect(page.get_by_role("button", name="New collection")).to_be_hidden()
    page.evaluate("document.getElementById('new-collection').hidden = false")  # as if the page guessed wrong
    page.get_by_role("button", name="New collection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("delta")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_contain_text("Only an admin key can create collections")
    dialog.get_by_role("button", name="Cancel").click()
    names = [c["name"] for c in collections_server.http.get("/collections").json()["collections"]]
    assert "delta" not in names


def test_a_reader_cannot_upload_into_its_collection(page: Page, collections_server):
    enter_key(page, collections_server.keys["alpha"])
    expect(doc_titles(page)).to_have_text([SEED_TITLE])
    page.locator("#file-input").set_input_files({"name": "note.txt", "mimeType": "text/plain", "buffer": b"A note."})
    status = page.locator('#upload-status .status-line[data-file="note.txt"]')
    expect(status).to_contain_text("needs a writer key", timeout=ANSWER_TIMEOUT_MS)


def test_a_picked_collection_that_disappears_falls_back_to_default(page: Page, collections_server):
    http = collections_server.http
    assert http.post("/collections", json={"name": "temp"}).status_code == 201
    enter_key(page, collections_server.keys["admin"])
    picker(page).select_option("temp")
    expect(page.locator("#document-list")).to_contain_text("No documents yet")
    assert http.delete("/collections/temp").status_code == 200
    box = page.get_by_label("Your question")
    box.fill("Who is the US national security adviser?")
    box.press("Enter")
    expect(page.locator("#collection-status")).to_contain_text(
        "Collection “temp” no longer exists; showing “default”", timeout=ANSWER_TIMEOUT_MS
    )
    expect(picker(page)).to_have_value("default")
    assert "temp" not in picker_names(page)


def test_a_remembered_collection_the_key_cannot_use_falls_back_with_a_message(browser, collections_server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script("sessionStorage.setItem('spanqa-collection', 'beta')")  # picked earlier in this tab
    page = context.new_page()
    try:
        page.goto(collections_server.url + "/")
        enter_key(page, collections_server.keys["alpha"])
        expect(page.locator("#collection-status")).to_contain_text(
            "Collection “beta” is not available to this key; showing “alpha”"
        )
        expect(picker(page)).to_have_value("alpha")
        expect(doc_titles(page)).to_have_text([SEED_TITLE])
    finally:
        context.close()
