"""Uploading through background jobs in a real browser (Debian's Chromium) against the real server:
several files, an archive among them, show a progress bar and per-file lines, and end listed."""

from __future__ import annotations

import io
import zipfile

import pytest

pytest.importorskip("playwright.sync_api", reason="browser tests need Playwright for Python (pip install playwright)")

from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.conftest import Server  # noqa: E402

pytestmark = pytest.mark.browser
TIMEOUT_MS = 120_000

FILES = {
    f"harbour-{i}.txt": f"Harbour log {i}. The crane operator on shift {i} was Edda Marlowe-{i}.\n" for i in range(4)
}


def archive(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in entries.items():
            z.writestr(name, text)
    return buffer.getvalue()


def test_uploading_several_files_shows_progress_errors_and_ends_listed(page: Page, server: Server):
    bundle = {"tides/tide-table.md": "# Tide table\n\nHigh water at the pier is at 06:40.\n", "tides/bad.exe": "MZ"}
    picked = [{"name": name, "mimeType": "text/plain", "buffer": text.encode()} for name, text in FILES.items()]
    picked.append({"name": "tides.zip", "mimeType": "application/zip", "buffer": archive(bundle)})
    page.locator("#file-input").set_input_files(picked)

    job = page.locator("#upload-status .job").first
    expect(job.locator("progress.job-progress")).to_be_visible()
    expect(job).to_have_attribute("data-status", "done", timeout=TIMEOUT_MS)
    progress = job.locator("progress.job-progress")
    assert progress.evaluate("p => [p.value, p.max]") == [6, 6]  # 4 files + the archive's 2 entries
    for name in FILES:
        line = job.locator(f'.status-line[data-file="{name}"]')
        expect(line).to_have_class("status-line status-ok")
        expect(line).to_contain_text("Added")
    failed = job.locator('.status-line[data-file="tides.zip/tides/bad.exe"]')
    expect(failed).to_have_class("status-line status-error")
    expect(failed).to_contain_text("Couldn't add “tides.zip/tides/bad.exe”.")
    expect(job.locator(".job-summary")).to_contain_text("5 documents added, 1 file failed")

    listed = page.locator("#document-list .doc-title")
    for title in [*(name.removesuffix(".txt") for name in FILES), "Tide table"]:
        expect(listed.filter(has_text=title).first).to_be_visible(timeout=TIMEOUT_MS)
    jobs = server.http.get("/jobs", params={"limit": 1}).json()["jobs"]
    assert (jobs[0]["status"], jobs[0]["added"] + jobs[0]["unchanged"], jobs[0]["failures"]) == ("done", 5, 1)
