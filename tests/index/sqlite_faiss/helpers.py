"""Shared pieces of the FaissSqliteStore tests: constants, deterministic vectors, a corpus, a subprocess."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from index.chunker import chunk_text
from index.types import Document

REPO = Path(__file__).resolve().parents[3]
SQUAD_FILE = REPO.parent / "shared" / "data" / "squad" / "squad-v2-dev-20-articles-contexts.json"
DIM = 32
MODEL = "test-model"


def text_vectors(texts: list[str], dimension: int = DIM) -> np.ndarray:
    """A deterministic unit vector per text (storage tests are about storage, not semantics)."""
    rows = []
    for text in texts:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        vector = np.random.default_rng(seed).standard_normal(dimension).astype(np.float32)
        rows.append(vector / np.linalg.norm(vector))
    return np.stack(rows) if rows else np.zeros((0, dimension), np.float32)


def make_item(doc_id: str, text: str, tokenizer, chunk_tokens: int = 48, **fields):
    document = Document(id=doc_id, title=f"Title of {doc_id}", text=text, **fields)
    chunks = chunk_text(doc_id, text, tokenizer, chunk_tokens=chunk_tokens, overlap_tokens=8, pages=document.pages)
    return document, chunks, text_vectors([c.text for c in chunks])


def add_corpus(store, contexts, tokenizer, count: int = 20) -> dict[str, tuple]:
    items = {f"doc-{i}": make_item(f"doc-{i}", contexts[i], tokenizer) for i in range(count)}
    store.add_many(list(items.values()))
    return items


def snapshot(store, queries: np.ndarray) -> list:
    """What a store answers: ids, texts and scores of the top chunks for each query."""
    return [[(c.id, c.doc_id, c.text, round(s, 5)) for c, s in store.search(q, 5)] for q in queries]


def run_python(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
