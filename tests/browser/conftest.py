"""Browser fixtures: a real uvicorn server over a temporary data directory, and Debian's Chromium.

The server is started once per session (models load once), seeded with the sample document.
Without a Chromium binary every browser test is skipped with the reason, never passed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.server import free_port, uvicorn_command, wait_for_health

REPO = Path(__file__).resolve().parents[2]
SEED_IN_REPO = REPO / "seeds" / "us-cluster-munitions-ukraine.txt"
SEED_SHARED = REPO.parent / "shared" / "seeds" / "000_926dce63dff0079b.txt"
OUTPUT_DIR = Path(os.environ.get("SPANQA_TEST_OUTPUT", REPO / "test-output")) / "browser"

# Small enough that a test can provoke 413 without building a huge file.
MAX_UPLOAD_BYTES = 200_000
SERVER_START_TIMEOUT_S = 300
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass(frozen=True)
class Server:
    """The running app: its base URL, an HTTP client on it, and the id of the seed document."""

    url: str
    http: httpx.Client
    seed_id: str


def find_chromium() -> str | None:
    """SPANQA_CHROMIUM when set (a path), else Debian's chromium on PATH or at /usr/bin/chromium."""
    configured = os.environ.get("SPANQA_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def seed_file() -> Path:
    return SEED_IN_REPO if SEED_IN_REPO.exists() else SEED_SHARED


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip(
            "browser tests need Chromium and none was found (install it with `apt-get install chromium`,"
            " or point SPANQA_CHROMIUM at a binary)"
        )
    return path


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture(scope="session")
def server(chromium_path, tmp_path_factory) -> Iterator[Server]:
    """uvicorn on a free loopback port with a fresh data directory, holding the seed document."""
    data_dir = tmp_path_factory.mktemp("browser-data")
    log_path = data_dir.parent / "browser-server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SPANQA_DATA_DIR": str(data_dir),
        "SPANQA_MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            uvicorn_command(port),
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_health(url, process, log_path, SERVER_START_TIMEOUT_S)
        with httpx.Client(base_url=url, timeout=120) as http:
            seed = seed_file()
            with seed.open("rb") as f:
                response = http.post(
                    "/documents",
                    files={"file": ("us-cluster-munitions-ukraine.txt", f, "text/plain")},
                    data={"id": "seed", "title": "US cluster munitions for Ukraine"},
                )
            assert response.status_code == 201, response.text
            yield Server(url=url, http=http, seed_id=response.json()["id"])
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    """A fresh desktop-sized page on the chat, failing the test on any uncaught script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto(server.url + "/")
    page.locator("#document-list .doc-item").first.wait_for()
    yield page
    context.close()
    assert not script_errors, f"uncaught script errors on the page: {script_errors}"
