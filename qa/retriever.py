"""Retrieval: dense (embeddings + FAISS), BM25 (keywords), or both fused; optionally reranked.

- "dense": embed the question, inner-product search in the store.
- "bm25": the BM25 index over the same chunks (`index.bm25`).
- "hybrid": each retriever ranks its best `depth` chunks; reciprocal rank fusion scores a chunk
  sum over retrievers of 1 / (rrf_k + rank), so a chunk only one retriever finds still competes,
  and a chunk both rank well wins. Both raw scores are filled in for every fused chunk.
- rerank: a cross-encoder scores the best `rerank_candidates` of the mode's ranking against the
  question and the best `top_k` of those are returned, in its order.

Each Passage's `score` is the score that ranked it (dense cosine, BM25, RRF or cross-encoder);
`scores` holds all that were computed ("dense", "bm25", "rrf", "rerank") and `ranks` its rank in
each retriever's list ("dense", "bm25"; "fused" in hybrid) when it was in it.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from errors import InvalidRequest
from index.embedder import TextEncoder
from index.store import KeywordSearch, Store
from index.types import Chunk
from qa.answers import Passage
from qa.rerank import Reranker

Mode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[str, ...] = get_args(Mode)


@dataclass
class Retrieval:
    passages: list[Passage]
    timings_ms: dict[str, float] = field(default_factory=dict)  # "embed", "search", "bm25", "fuse", "rerank"


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int) -> list[tuple[int, float]]:
    """Ids by fused score, best first: each id scores sum over rankings of 1 / (k + rank), rank from 1.

    Ties keep the order in which ids were first seen (earlier rankings first).
    """
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda pair: -pair[1])


@dataclass
class _Candidate:
    chunk_id: int
    score: float  # the score that ranks it
    scores: dict[str, float] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)


class Retriever:
    def __init__(
        self,
        embedder: TextEncoder,
        store: Store,
        bm25: KeywordSearch | None = None,
        reranker: Reranker | None = None,
        *,
        mode: Mode = "dense",
        rrf_k: int = 60,
        depth: int = 50,
        rerank: bool = False,
        rerank_candidates: int = 20,
    ) -> None:
        self.embedder = embedder
        self.store = store
        self.bm25 = bm25 if bm25 is not None else store.keyword  # BM25 lives in the store
        self.reranker = reranker
        self.mode = mode
        self.rrf_k = rrf_k
        self.depth = depth
        self.rerank = rerank
        self.rerank_candidates = rerank_candidates

    def search(
        self,
        question: str,
        top_k: int,
        doc_ids: Collection[str] | None = None,
        *,
        mode: Mode | None = None,
        rerank: bool | None = None,
    ) -> Retrieval:
        """The `top_k` best passages for `question` (mode and rerank default to the retriever's)."""
        mode = mode or self.mode
        rerank = self.rerank if rerank is None else rerank
        if mode not in MODES:
            raise InvalidRequest(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        if mode != "dense" and self.bm25 is None:
            raise InvalidRequest(f"retrieval {mode!r} needs a BM25 index, and this pipeline has none")
        if rerank and self.reranker is None:
            raise InvalidRequest("reranking needs a reranker, and this pipeline has none")
        wanted = max(top_k, self.rerank_candidates) if rerank else top_k
        timings: dict[str, float] = {}
        for attempt in range(2):
            candidates = self._candidates(question, mode, wanted, doc_ids, timings)
            try:
                chunks = self.store.get_chunks([c.chunk_id for c in candidates])
                break
            except KeyError:  # a write removed a chunk between the two reads: search again
                if attempt:
                    raise
        if rerank and candidates:
            candidates, chunks = self._rerank(question, candidates, chunks, timings)
        candidates, chunks = candidates[:top_k], chunks[:top_k]
        return Retrieval(self._passages(candidates, chunks), timings)

    # ---- candidates per mode ----------------------------------------------------------------

    def _candidates(
        self, question: str, mode: Mode, n: int, doc_ids: Collection[str] | None, timings: dict[str, float]
    ) -> list[_Candidate]:
        if mode == "dense":
            _, hits = self._dense(question, n, doc_ids, timings)
            return [
                _Candidate(c.id, s, {"dense": s}, {"dense": r})  # type: ignore[arg-type]
                for r, (c, s) in enumerate(hits, start=1)
            ]
        if mode == "bm25":
            found = self._bm25(question, n, doc_ids, timings)
            return [_Candidate(i, s, {"bm25": s}, {"bm25": r}) for r, (i, s) in enumerate(found, start=1)]
        depth = max(n, self.depth)
        vector, dense_hits = self._dense(question, depth, doc_ids, timings)
        keyword_hits = self._bm25(question, depth, doc_ids, timings)
        t0 = time.perf_counter()
        dense_ids = [c.id for c, _ in dense_hits if c.id is not None]  # stored chunks all have ids
        keyword_ids = [i for i, _ in keyword_hits]
        fused = reciprocal_rank_fusion([dense_ids, keyword_ids], self.rrf_k)[:n]
        dense = {c.id: s for c, s in dense_hits}
        keyword = dict(keyword_hits)
        dense_rank = {i: r for r, i in enumerate(dense_ids, start=1)}
        keyword_rank = {i: r for r, i in enumerate(keyword_ids, start=1)}
        # Report both raw scores for every fused chunk, also those one retriever did not rank.
        missing_dense = [i for i, _ in fused if i not in dense]
        for chunk_id, stored in self.store.chunk_vectors(missing_dense).items():
            dense[chunk_id] = float(stored @ vector)
        missing_keyword = [i for i, _ in fused if i not in keyword]
        if missing_keyword:
            assert self.bm25 is not None
            keyword.update(self.bm25.scores_of(question, missing_keyword))
        candidates = []
        for rank, (chunk_id, score) in enumerate(fused, start=1):
            ranks = {"fused": rank}
            if chunk_id in dense_rank:
                ranks["dense"] = dense_rank[chunk_id]
            if chunk_id in keyword_rank:
                ranks["bm25"] = keyword_rank[chunk_id]
            scores = {"rrf": score}
            if chunk_id in dense:
                scores["dense"] = dense[chunk_id]
            if chunk_id in keyword:
                scores["bm25"] = keyword[chunk_id]
            candidates.append(_Candidate(chunk_id, score, scores, ranks))
        timings["fuse"] = (time.perf_counter() - t0) * 1000
        return candidates

    def _dense(
        self, question: str, k: int, doc_ids: Collection[str] | None, timings: dict[str, float]
    ) -> tuple[np.ndarray, list[tuple[Chunk, float]]]:
        t0 = time.perf_counter()
        vector = self.embedder.encode_query(question)
        t1 = time.perf_counter()
        hits = self.store.search(vector, k, doc_ids=doc_ids)
        t2 = time.perf_counter()
        timings["embed"] = (t1 - t0) * 1000
        timings["search"] = (t2 - t1) * 1000
        return vector, [(c, float(s)) for c, s in hits]

    def _bm25(
        self, question: str, k: int, doc_ids: Collection[str] | None, timings: dict[str, float]
    ) -> list[tuple[int, float]]:
        assert self.bm25 is not None
        t0 = time.perf_counter()
        hits = self.bm25.search(question, k, doc_ids=doc_ids)
        timings["bm25"] = (time.perf_counter() - t0) * 1000
        return hits

    # ---- reranking and passages -------------------------------------------------------------

    def _rerank(
        self, question: str, candidates: list[_Candidate], chunks: list[Chunk], timings: dict[str, float]
    ) -> tuple[list[_Candidate], list[Chunk]]:
        """Candidates reordered by the cross-encoder (ties keep the retrieval order)."""
        assert self.reranker is not None
        t0 = time.perf_counter()
        scores = self.reranker.score(question, [c.text for c in chunks])
        order = sorted(range(len(candidates)), key=lambda i: -scores[i])
        for i in order:
            candidates[i].scores["rerank"] = float(scores[i])
            candidates[i].score = float(scores[i])
        timings["rerank"] = (time.perf_counter() - t0) * 1000
        return [candidates[i] for i in order], [chunks[i] for i in order]

    def _passages(self, candidates: list[_Candidate], chunks: list[Chunk]) -> list[Passage]:
        titles: dict[str, str] = {}
        passages = []
        for rank, (candidate, chunk) in enumerate(zip(candidates, chunks), start=1):
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
                    score=candidate.score,
                    rank=rank,
                    scores=dict(candidate.scores),
                    ranks=dict(candidate.ranks),
                )
            )
        return passages
