"""Dense retrieval: embed the question, search the store, return scored passages."""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field

from index.embedder import Embedder
from index.store import Store
from qa.answers import Passage


@dataclass
class Retrieval:
    passages: list[Passage]
    timings_ms: dict[str, float] = field(default_factory=dict)  # "embed", "search"


class Retriever:
    def __init__(self, embedder: Embedder, store: Store) -> None:
        self.embedder = embedder
        self.store = store

    def search(
        self, question: str, top_k: int, doc_ids: Collection[str] | None = None
    ) -> Retrieval:
        t0 = time.perf_counter()
        vector = self.embedder.encode([question])[0]
        t1 = time.perf_counter()
        hits = self.store.search(vector, top_k, doc_ids=doc_ids)
        titles: dict[str, str] = {}
        passages = []
        for rank, (chunk, score) in enumerate(hits, start=1):
            if chunk.doc_id not in titles:
                info = self.store.get_info(chunk.doc_id)
                titles[chunk.doc_id] = info.title if info else chunk.doc_id
            assert chunk.id is not None
            passages.append(
                Passage(
                    chunk_id=chunk.id,
                    doc_id=chunk.doc_id,
                    title=titles[chunk.doc_id],
                    text=chunk.text,
                    start=chunk.start,
                    end=chunk.end,
                    page=chunk.page,
                    score=float(score),
                    rank=rank,
                    scores={"dense": float(score)},
                )
            )
        t2 = time.perf_counter()
        return Retrieval(passages, {"embed": (t1 - t0) * 1000, "search": (t2 - t1) * 1000})
