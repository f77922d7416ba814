"""What a hostile client or web page can send the API, each answered with a clear 4xx while the
server keeps answering others: cross-site writes, foreign Host headers, bodies over the limits
(chunked too), values Python's json accepts but nothing can store, ids that could never be fetched,
slow questions, and too many uploads at once. Real app, real models; a real uvicorn for chunked bodies."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import STATIC_DIR, create_app
from qa.pipeline import NewDocument
from tests.fixtures.apps import served_in_thread

TEXT = "The Zorbani lighthouse was built in 1887 by the engineer Margit Olsen on the island of Vell."


def raw_json(client: TestClient, path: str, body: str, **headers: str):
    """Posts `body` as is (json.dumps cannot write NaN-free lone surrogates or huge ints the way attackers do)."""
    return client.post(path, content=body.encode("utf-8"), headers={"Content-Type": "application/json", **headers})


# ---- item 5: cross-site writes, Host check ---------------------------------------------------


def test_cross_site_text_plain_post_is_refused_and_adds_nothing(client):
    before = client.get("/health").json()["documents"]
    body = json.dumps({"text": TEXT, "id": "planted"})
    for headers in ({"Content-Type": "text/plain"}, {"Content-Type": "text/plain", "Origin": "https://evil.example"}):
        r = client.post("/documents", content=body, headers=headers)
        assert r.status_code in (403, 415) and r.json()["detail"]
    r = client.post("/documents", content=body, headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/json" in r.json()["detail"]
    assert client.get("/documents/planted").status_code == 404
    assert client.get("/health").json()["documents"] == before


def test_writes_from_another_origin_are_403_and_same_origin_is_fine(client):
    evil = {"Origin": "https://evil.example"}
    r = client.post("/documents", files={"file": ("a.txt", TEXT.encode())}, data={"id": "evil-upload"}, headers=evil)
    assert r.status_code == 403 and "origin" in r.json()["detail"]
    assert client.delete("/documents/seed", headers=evil).status_code == 403
    assert client.post("/ask", json={"question": "Who?"}, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.get("/documents/seed").status_code == 200
    same = {"Origin": "http://testserver"}
    r = client.post("/documents", json={"text": TEXT, "id": "same-origin"}, headers=same)
    assert r.status_code == 201, r.text
    assert client.delete("/documents/same-origin", headers=same).status_code == 204


def test_foreign_host_header_is_refused(client):
    assert client.get("/health", headers={"Host": "rebind.evil.example"}).status_code == 400
    assert client.get("/health", headers={"Host": "localhost:8000"}).status_code == 200


# ---- item 12: headers, time limit, ingests at once ------------------------------------------------


def test_security_headers_and_a_csp_the_chat_page_works_with(client):
    for path in ("/", "/health", "/static/app.js"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert "script-src 'self'" in headers["content-security-policy"]
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    # the CSP allows no inline script or style: the page must have none
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", page))
    assert "<style" not in page and " style=" not in page and not re.search(r"\son[a-z]+=", page)


def test_a_question_over_the_time_limit_gets_504_json(client):
    pipeline = client.app.state.pipeline
    slow = create_app(pipeline.settings.model_copy(update={"request_timeout_s": 0.001}), pipeline=pipeline)
    with TestClient(slow) as c:
        r = c.post("/ask", json={"question": "Who built the lighthouse?"})
        assert r.status_code == 504 and "longer than" in r.json()["detail"]
        assert c.get("/health").status_code == 200


# ---- items 6 and 7: values nothing can store, 500s that become 422 -----------------------------------


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_422_in_metadata_and_filters(client, value):
    r = raw_json(client, "/documents", f'{{"text": "{TEXT}", "id": "nan-doc", "metadata": {{"x": {value}}}}}')
    assert r.status_code == 422 and "finite" in r.json()["detail"]
    r = client.post("/documents", files={"file": ("n.txt", TEXT.encode())}, data={"metadata": f'{{"x": [{value}]}}'})
    assert r.status_code == 422 and "finite" in r.json()["detail"]
    r = raw_json(client, "/ask", f'{{"question": "Who?", "filters": {{"metadata": {{"x": {value}}}}}}}')
    assert r.status_code == 422 and "finite" in r.json()["detail"]
    assert client.get("/documents/nan-doc").status_code == 404


BAD_ASKS = {
    "filter value above 2^63": '{"question": "Who?", "filters": {"metadata": {"n": 18446744073709551616}}}',
    "NUL in a filter key": '{"question": "Who?", "filters": {"metadata": {"a\\u0000b": 1}}}',
    "filter list of 5,000": json.dumps({"question": "Who?", "filters": {"metadata": {"n": [1] * 5000}}}),
    "filter object of 5,000": json.dumps(
        {"question": "Who?", "filters": {"metadata": {f"k{i}": 1 for i in range(5000)}}}
    ),
    "lone surrogate in doc_ids": '{"question": "Who?", "filters": {"doc_ids": ["\\ud800"]}}',
    "lone surrogate in a filter key": '{"question": "Who?", "filters": {"metadata": {"\\udfff": 1}}}',
    "lone surrogate in the question": '{"question": "Who built \\ud800 it?"}',
}


@pytest.mark.parametrize("body", BAD_ASKS.values(), ids=BAD_ASKS.keys())
def test_inputs_that_were_500s_are_422(client, body):
    r = raw_json(client, "/ask", body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_huge_list_offset_and_bad_metadata_on_upload_are_422(client):
    assert client.get("/documents", params={"offset": "1e20"}).status_code == 422
    assert client.get("/documents", params={"offset": str(2**70)}).status_code == 422
    r = raw_json(client, "/documents", f'{{"text": "{TEXT}", "metadata": {{"n": {2**64}}}}}')
    assert r.status_code == 422 and "64-bit" in r.json()["detail"]


def test_html_declaring_punycode_is_read_not_a_500(client):
    page = (
        b'<html><head><meta charset="punycode"><title>Vell</title></head><body><p>'
        + TEXT.encode()
        + b"</p></body></html>"
    )
    r = client.post("/documents", files={"file": ("page.html", page)}, data={"id": "punycode-page"})
    assert r.status_code == 201, r.text
    assert TEXT in client.get("/documents/punycode-page").json()["text"]
    assert client.delete("/documents/punycode-page").status_code == 204


# ---- item 9: document ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("doc_id", ["x y/z", "../../etc/passwd", ".", "..", "a" * 201, "tab\there", "ünï"])
def test_ids_that_could_never_be_fetched_are_refused(client, doc_id):
    r = client.post("/documents", json={"text": TEXT, "id": doc_id})
    assert r.status_code == 422 and "id" in r.json()["detail"]
    r = client.post("/documents", files={"file": ("a.txt", TEXT.encode())}, data={"id": doc_id})
    assert r.status_code == 422 and "document id" in r.json()["detail"]  # multipart: the same rule, 200 chars too


def test_an_id_of_every_allowed_character_round_trips(client):
    doc_id = "Az09._~:@+-id"
    assert client.post("/documents", json={"text": TEXT, "id": doc_id}).status_code == 201
    assert client.get(f"/documents/{doc_id}").json()["id"] == doc_id
    assert client.delete(f"/documents/{doc_id}").status_code == 204


def test_a_legacy_id_with_a_slash_stays_readable_and_deletable(client):
    # written as an index from before the id rule would hold it (the pipeline does not check ids)
    client.app.state.pipeline.ingest(NewDocument(text=TEXT, id="legacy dir/file.txt"))
    r = client.get("/documents/legacy%20dir%2Ffile.txt")
    assert r.status_code == 200 and r.json()["id"] == "legacy dir/file.txt"
    assert client.delete("/documents/legacy%20dir%2Ffile.txt").status_code == 204
    assert client.get("/documents/legacy%20dir%2Ffile.txt").status_code == 404


# ---- item 3: body and multipart limits ---------------------------------------------------------


def test_bodies_over_the_limits_are_413(client):
    big_question = json.dumps({"question": "x" * (2 * 1024 * 1024)})
    r = raw_json(client, "/ask", big_question)
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    r = client.post("/ask", content=iter([big_question.encode()]), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]  # no Content-Length: counted as it streams


def test_multipart_with_many_files_or_fields_is_refused(client):
    files = [("file", (f"{i}.txt", TEXT.encode())) for i in range(3)]
    r = client.post("/documents", files=files)
    assert r.status_code == 400 and "files" in r.json()["detail"].lower()
    r = client.post("/documents", files={"file": ("a.txt", TEXT.encode())}, data={f"f{i}": "x" for i in range(50)})
    assert r.status_code == 400 and "fields" in r.json()["detail"].lower()
    r = client.post("/documents", files={"file": ("a.txt", TEXT.encode())}, data={"title": "t" * 100_000})
    assert r.status_code == 400


@pytest.fixture(scope="module")
def server_url(client) -> Iterator[str]:
    """The same app (and pipeline) served by a real uvicorn on a free port."""
    pipeline = client.app.state.pipeline
    with served_in_thread(create_app(pipeline.settings, pipeline=pipeline)) as port:
        yield f"127.0.0.1:{port}"


def _send_chunked(host: str, path: str, total: int, content_type: str) -> tuple[str, int]:
    """Streams a `total`-byte chunked body until the server answers; its status line and the bytes sent."""
    address, port = host.split(":")
    sent = 0
    with socket.create_connection((address, int(port)), timeout=60) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
        sock.sendall(head.encode())
        chunk = b"%x\r\n%s\r\n" % (1024 * 1024, b" " * (1024 * 1024))
        sock.setblocking(False)
        reply = b""
        try:
            while sent < total and not reply:
                try:
                    reply = sock.recv(4096)
                except BlockingIOError:
                    pass
                if not reply:
                    sock.setblocking(True)
                    sock.sendall(chunk)
                    sock.setblocking(False)
                    sent += 1024 * 1024
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.setblocking(True)
        while b"\r\n" not in reply:
            more = sock.recv(4096)
            if not more:
                break
            reply += more
    return reply.split(b"\r\n")[0].decode(), sent


def test_a_100_mb_chunked_body_is_413_early_while_others_are_answered(server_url):
    import httpx

    results: list[tuple[str, int]] = []
    upload = threading.Thread(
        target=lambda: results.append(_send_chunked(server_url, "/documents", 100 * 1024 * 1024, "application/json"))
    )
    upload.start()
    with httpx.Client(base_url=f"http://{server_url}", timeout=60) as http:
        assert http.get("/health").status_code == 200
    upload.join(timeout=120)
    status, sent = results[0]
    assert " 413 " in status + " ", status
    assert sent < 100 * 1024 * 1024  # refused while it streamed, not after
    status, sent = _send_chunked(server_url, "/ask", 100 * 1024 * 1024, "application/json")
    assert " 413 " in status + " " and sent < 100 * 1024 * 1024


# ---- the ingest limit, with a small fake app --------------------------------------------------------


def test_uploads_over_the_concurrent_ingest_limit_get_503_with_retry_after():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from api.limits import ConcurrencyLimit

    entered, release = threading.Event(), threading.Event()

    def slow(request) -> PlainTextResponse:
        entered.set()
        release.wait(30)
        return PlainTextResponse("done")

    app = ConcurrencyLimit(Starlette(routes=[Route("/", slow, methods=["POST"])]), lambda s: True, limit=1, wait_s=0.2)
    with TestClient(app) as c:
        first = threading.Thread(target=lambda: c.post("/"))
        first.start()
        assert entered.wait(30)
        r = c.post("/")
        assert r.status_code == 503 and r.headers["retry-after"] and "try again" in r.json()["detail"]
        release.set()
        first.join(30)
        assert c.post("/").status_code == 200


# ---- items 1 and 2 through the API: the files refused (or read) quickly while others are answered -------


def test_hostile_files_are_answered_while_health_keeps_answering(make_pipeline):
    from tests.index.test_hostile_files import forged_docx_bomb

    pipeline = make_pipeline(max_upload_bytes=8 * 1024 * 1024, max_document_chars=6_000_000)
    roomy = create_app(pipeline.settings, pipeline=pipeline)
    spaces = b"# Spaces\n\nword" + b" " * (5 * 1024 * 1024) + b"end\n"
    uploads = [("spaces.md", spaces, 201), ("invoice.docx", forged_docx_bomb(), 413)]
    with TestClient(roomy) as c:
        for name, data, status in uploads:
            answers = []
            upload = threading.Thread(target=lambda: answers.append(c.post("/documents", files={"file": (name, data)})))
            upload.start()
            health = [c.get("/health").status_code]
            while upload.is_alive():
                health.append(c.get("/health").status_code)
                time.sleep(0.05)
            assert answers[0].status_code == status and set(health) == {200}, (name, answers[0].text)
            if status == 201:
                doc_id = answers[0].json()["id"]
                assert c.get(f"/documents/{doc_id}").json()["text"].endswith("word" + " " * (5 * 1024 * 1024) + "end")
                assert c.delete(f"/documents/{doc_id}").status_code == 204
