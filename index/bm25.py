"""BM25 keyword search over the store's chunks (bm25s), derived from SQLite like the FAISS index.

SQLite stays the one source of truth. The BM25 index is built from one snapshot of the chunks and
stamped with the store's write `generation` (bumped by every add, replace and delete); it is current
exactly when its generation equals the store's. `search()` checks that (one tiny SQLite read) and
rebuilds first when the store has moved on, so no search ever sees a BM25 index out of step with
FAISS and SQLite: not after a write in this process, nor after a write by another process, nor after
a restart. The writer calls `sync()` right after its writes, so questions do not pay for rebuilds.

On disk, in `directory` (the data directory's `bm25/`):
- `gen-<G>/` — the bm25s index files (`BM25.save`) plus `rows.json` (the chunk id and document id of
  each BM25 row), as of generation G;
- `bm25.json` — which folder is current: its generation, row count, tokenizer version and a checksum
  of the rows. Written last (temp file + `os.replace`), so a crash leaves the old index or the new.
At open, the folder is used only if its generation is the store's and `check()` agrees; otherwise it
is rebuilt from SQLite (building takes about a second per 10,000 chunks).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import bm25s
import numpy as np
import Stemmer

from errors import IndexCorrupt
from index.store.files import write_atomically
from index.store.sqlite_reads import ChunkSnapshot

logger = logging.getLogger(__name__)

POINTER_FILE = "bm25.json"
ROWS_FILE = "rows.json"
# Bump when tokenization changes: an index tokenized another way is rebuilt, never reused.
TOKENIZER_VERSION = "bm25s-en_plus-stopwords-snowball-english-v1"
# bm25s's longer English list (question words too); with stemming, it beat the short Lucene list
# and no stemming on the SQuAD train split (README, "Retrieval").
_STOPWORDS = "en_plus"


class ChunkSource(Protocol):
    """What BM25 needs from the store (FaissSqliteStore provides it)."""

    read_only: bool

    def generation(self) -> int: ...
    def chunk_snapshot(self, with_text: bool = True) -> ChunkSnapshot: ...


_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    """One English Snowball stemmer per thread (PyStemmer objects are not thread-safe)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased word tokens of two or more characters, English stop words removed, stemmed."""
    return bm25s.tokenize(
        texts, lower=True, stopwords=_STOPWORDS, stemmer=_stemmer(), return_ids=False, show_progress=False
    )


@dataclass(frozen=True)
class _Built:
    """One immutable BM25 index and the chunk behind each of its rows; swapped whole on sync."""

    generation: int
    model: bm25s.BM25 | None  # None when there are no chunks
    chunk_ids: np.ndarray  # int64, ascending: row -> chunk id
    doc_ids: np.ndarray  # object (str): row -> document id


def _build(snapshot: ChunkSnapshot) -> _Built:
    ids = np.asarray(snapshot.ids, dtype=np.int64)
    doc_ids = np.asarray(snapshot.doc_ids, dtype=object)
    if not snapshot.ids:
        return _Built(snapshot.generation, None, ids, doc_ids)
    model = bm25s.BM25()
    corpus = bm25s.tokenize(snapshot.texts, lower=True, stopwords=_STOPWORDS, stemmer=_stemmer(), show_progress=False)
    model.index(corpus, show_progress=False)
    return _Built(snapshot.generation, model, ids, doc_ids)


def _rows_digest(chunk_ids: np.ndarray, doc_ids: np.ndarray) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(chunk_ids, dtype="<i8").tobytes())
    h.update("\x00".join(doc_ids.tolist()).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


class BM25Index:
    """BM25 over every chunk of `source`, kept at the source's generation (see the module docstring)."""

    def __init__(self, directory: Path | str, source: ChunkSource) -> None:
        self.directory = Path(directory)
        self.source = source
        self._lock = threading.Lock()  # one sync at a time; searches never wait for it
        loaded = self._load()
        self._built = loaded if loaded is not None else self._rebuild("no usable BM25 files")
        try:
            self.check()
        except IndexCorrupt as error:
            logger.warning("BM25 index disagrees with SQLite (%s); rebuilding it", error)
            self._built = self._rebuild("consistency check failed")
            self.check()

    # ---- reads ------------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """The store generation this index reflects."""
        return self._built.generation

    def __len__(self) -> int:
        return len(self._built.chunk_ids)

    def search(self, query: str, k: int, doc_ids: Collection[str] | None = None) -> list[tuple[int, float]]:
        """The `k` best (chunk id, BM25 score) pairs, best first, optionally only from `doc_ids`.

        Only chunks sharing at least one query term are returned (a score above zero).
        """
        if k <= 0 or (doc_ids is not None and not doc_ids):
            return []
        built = self.sync()
        if built.model is None:
            return []
        scores = self._scores(built, query)
        if doc_ids is not None:
            scores = np.where(np.isin(built.doc_ids, list(set(doc_ids))), scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(built.chunk_ids[i]), float(scores[i])) for i in top if scores[i] > 0]

    def scores_of(self, query: str, chunk_ids: Collection[int]) -> dict[int, float]:
        """BM25 scores of these chunks for `query` (0.0 for a chunk sharing no term with it)."""
        built = self.sync()
        if built.model is None or not chunk_ids:
            return {}
        scores = self._scores(built, query)
        wanted = np.asarray(sorted(chunk_ids), dtype=np.int64)
        rows = np.searchsorted(built.chunk_ids, wanted)
        rows = np.minimum(rows, len(built.chunk_ids) - 1)
        return {int(c): float(scores[r]) for c, r in zip(wanted, rows) if built.chunk_ids[r] == c}

    @staticmethod
    def _scores(built: _Built, query: str) -> np.ndarray:
        assert built.model is not None
        tokens = [t for t in tokenize([query])[0] if t in built.model.vocab_dict]
        if not tokens:
            return np.zeros(len(built.chunk_ids), dtype=np.float32)
        return np.asarray(built.model.get_scores(tokens), dtype=np.float32)

    # ---- keeping in step --------------------------------------------------------------------

    def sync(self) -> _Built:
        """Rebuild from SQLite if the store has written since this index was built; the current index."""
        built = self._built
        if self.source.generation() == built.generation:
            return built
        with self._lock:
            if self.source.generation() != self._built.generation:
                self._built = self._rebuild("the store has changed")
            return self._built

    def check(self) -> None:
        """Raise IndexCorrupt unless this index holds exactly SQLite's chunks at the same generation."""
        built = self.sync()
        snapshot = self.source.chunk_snapshot(with_text=False)
        if snapshot.generation != built.generation:
            return  # a write landed between the two reads; the next search catches up
        rows = built.model.scores.get("num_docs", len(built.chunk_ids)) if built.model is not None else 0
        if (
            snapshot.ids != built.chunk_ids.tolist()
            or snapshot.doc_ids != built.doc_ids.tolist()
            or rows != len(built.chunk_ids)
        ):
            raise IndexCorrupt(
                f"BM25 and SQLite disagree in {self.directory}: {len(built.chunk_ids)} BM25 rows"
                f" ({rows} in the model), {len(snapshot.ids)} chunks in SQLite (generation {built.generation})"
            )

    def _rebuild(self, reason: str) -> _Built:
        started = time.perf_counter()
        built = _build(self.source.chunk_snapshot())
        logger.info(
            "built the BM25 index over %d chunks in %.2fs (generation %d; %s)",
            len(built.chunk_ids),
            time.perf_counter() - started,
            built.generation,
            reason,
        )
        if not self.source.read_only:
            try:
                self._save(built)
            except OSError:  # serving goes on; the next open rebuilds
                logger.exception("could not persist the BM25 index in %s", self.directory)
        return built

    # ---- files ------------------------------------------------------------------------------

    def _save(self, built: _Built) -> None:
        """Write `gen-<G>/`, then point `bm25.json` at it, then remove older folders."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"gen-{built.generation}"
        temporary = self.directory / f".{name}.{os.getpid()}.tmp"
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir()
        if built.model is not None:
            built.model.save(str(temporary), show_progress=False)
        rows = {"chunk_ids": built.chunk_ids.tolist(), "doc_ids": built.doc_ids.tolist()}
        (temporary / ROWS_FILE).write_text(json.dumps(rows), encoding="utf-8")
        final = self.directory / name
        shutil.rmtree(final, ignore_errors=True)
        os.replace(temporary, final)
        pointer = {
            "generation": built.generation,
            "folder": name,
            "rows": len(built.chunk_ids),
            "tokenizer": TOKENIZER_VERSION,
            "rows_blake2b": _rows_digest(built.chunk_ids, built.doc_ids),
        }
        write_atomically(self.directory / POINTER_FILE, json.dumps(pointer).encode())
        for old in self.directory.iterdir():
            if old.is_dir() and old.name.startswith("gen-") and old.name != name:
                shutil.rmtree(old, ignore_errors=True)

    def _load(self) -> _Built | None:
        """The persisted index if it is of the store's current generation and intact, else None."""
        try:
            pointer = json.loads((self.directory / POINTER_FILE).read_text(encoding="utf-8"))
            generation = self.source.generation()
            if pointer.get("generation") != generation or pointer.get("tokenizer") != TOKENIZER_VERSION:
                logger.info("persisted BM25 index is stale (%s, store generation %d)", pointer, generation)
                return None
            folder = self.directory / pointer["folder"]
            rows = json.loads((folder / ROWS_FILE).read_text(encoding="utf-8"))
            chunk_ids = np.asarray(rows["chunk_ids"], dtype=np.int64)
            doc_ids = np.asarray(rows["doc_ids"], dtype=object)
            if pointer.get("rows_blake2b") != _rows_digest(chunk_ids, doc_ids):
                logger.warning("persisted BM25 rows fail their checksum")
                return None
            model = bm25s.BM25.load(str(folder), show_progress=False) if len(chunk_ids) else None
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning("cannot load the persisted BM25 index (%s)", error)
            return None
        return _Built(generation, model, chunk_ids, doc_ids)
