"""Each speed lever measured before/after in one process, on the same inputs, interleaved.

    python -m bench.levers [--quick] [--out levers.json]

`measure_levers(...)` returns rows `{"lever", "metric", "before", "after", "unit", "change",
"kept"}`: "before" is the setting without the lever, "after" with it, measured back to back
on the same questions and passages, so ratios hold on a noisy machine even where absolute
times do not. Levers: ONNX Runtime + int8 for the reader and the embedder (speed and
accuracy), skipping passages scored far below the best, micro-batching of concurrent
questions, warm-up, the question-embedding cache. `profile_read` splits one read into its
stages (tokenize, model, decode).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.corpus import SQUAD_DIR, load_corpus
from bench.lever_rows import accuracy_rows, markdown, median_ms, profile_read, row, timed
from qa.pipeline import NewDocument, Pipeline, passages_to_read
from qa.reader import Reader
from qa.settings import Settings
from qa.wiring import make_embedder, make_reader, open_configured_store


def _reader(base: Settings, backend: str, precision: str, cache: Path, threads: int) -> Reader:
    """A reader the wiring builds from `base` with these overrides, its model loaded (timed by callers)."""
    update = {"backend": backend, "onnx_precision": precision, "models_cache_dir": cache, "torch_threads": threads}
    reader = make_reader(base.model_copy(update=update))
    reader.load()
    return reader


@dataclass(frozen=True)
class LeverPlan:
    paragraphs: int  # corpus size (SQuAD contexts, dev articles first)
    questions: int  # questions timed per lever
    accuracy_questions: int  # dev questions read on their gold paragraph, torch fp32 vs ONNX int8
    concurrent_questions: int  # asks per mode in the concurrency comparison
    concurrency: int
    embed_texts: int  # chunk texts embedded per backend


FULL = LeverPlan(
    paragraphs=300, questions=40, accuracy_questions=300, concurrent_questions=96, concurrency=16, embed_texts=256
)
QUICK = LeverPlan(
    paragraphs=40, questions=6, accuracy_questions=20, concurrent_questions=16, concurrency=8, embed_texts=32
)


def measure_levers(
    plan: LeverPlan = FULL,
    *,
    squad_dir: Path = SQUAD_DIR,
    work_dir: Path | None = None,
    settings: Settings | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Measures every lever; returns {"rows": [...], "profile": {...}, "plan": {...}}."""
    with tempfile.TemporaryDirectory(prefix="spanqa-levers-") as tmp:
        return _measure(plan, squad_dir, Path(work_dir or tmp), settings or Settings(), log)


def _measure(
    plan: LeverPlan, squad_dir: Path, work_dir: Path, base: Settings, log: Callable[[str], None]
) -> dict[str, Any]:
    if base.torch_threads:
        import torch

        torch.set_num_threads(base.torch_threads)
    cache = work_dir / "models-cache"
    rows: list[dict[str, Any]] = []
    corpus = load_corpus(squad_dir, plan.paragraphs)
    questions = corpus.questions[:: max(1, len(corpus.questions) // plan.questions)][: plan.questions]

    # ---- models: export once (timed), then load from the cache (timed) ---------------------------
    log("models: torch, and ONNX exports (fp32, int8) into a fresh cache")
    t_export = timed(lambda: _reader(base, "onnx", "int8", cache, 0))
    t_cached = timed(lambda: _reader(base, "onnx", "int8", cache, 0))
    rows.append(
        row(
            "ONNX export cache",
            "reader load, s",
            t_export,
            t_cached,
            "s",
            True,
            "first load exports + quantizes; later loads read the cache",
        )
    )
    threads = base.torch_threads
    readers = {
        "torch": _reader(base, "torch", "fp32", cache, threads),
        "onnx-fp32": _reader(base, "onnx", "fp32", cache, threads),
        "onnx-int8": _reader(base, "onnx", "int8", cache, threads),
    }
    embedders = {
        "torch": make_embedder(base.model_copy(update={"backend": "torch", "query_cache_size": 1024})),
        "onnx-int8": make_embedder(
            base.model_copy(
                update={
                    "backend": "onnx",
                    "onnx_precision": "int8",
                    "models_cache_dir": cache,
                    "torch_threads": threads,
                }
            )
        ),
    }

    # ---- warm-up: first call on a fresh model vs the steady state ------------------------------
    sample = [text for _, _, text in corpus.paragraphs[:3]]
    for name, fresh in (
        ("torch", _reader(base, "torch", "fp32", cache, threads)),
        ("onnx-int8", _reader(base, "onnx", "int8", cache, threads)),
    ):
        cold = timed(lambda: fresh.read(questions[0], sample))
        warm = statistics.median(timed(lambda: fresh.read(questions[0], sample)) for _ in range(3))
        rows.append(
            row(
                "warm-up at start",
                f"first read ({name}), ms",
                cold * 1000,
                warm * 1000,
                "ms",
                True,
                "before: the first call; after: the next ones (Pipeline.warm_up() in the lifespan pays the first)",
            )
        )
        del fresh
    for reader in readers.values():
        reader.warm_up()
    for embedder in embedders.values():
        embedder.warm_up()

    # ---- index (ONNX int8 embedder) ------------------------------------------------------------
    log(f"ingest: {len(corpus.paragraphs)} paragraphs")
    settings = base.model_copy(update={"data_dir": work_dir / "index", "batch_max_questions": 1})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_configured_store(settings, embedders["onnx-int8"])
    pipeline = Pipeline(settings, embedders["onnx-int8"], readers["onnx-int8"], store)
    try:
        docs = [NewDocument(text=text, title=title, id=pid) for pid, title, text in corpus.paragraphs]
        t_ingest = timed(lambda: pipeline.ingest_many(docs))
        chunks = store.count_chunks()
        texts = [c.text for c in store.get_chunks(store.all_chunk_ids()[: plan.embed_texts])]
        rows.append(
            row(
                "ingest (ONNX int8 embedder)",
                "ingest_many, chunks/s",
                float("nan"),
                chunks / t_ingest,
                "chunks/s",
                True,
                f"{chunks} chunks, end to end",
            )
        )

        # ---- embedder: chunks/s and question ms, interleaved -------------------------------------
        log("embedder: torch vs ONNX int8")
        enc: dict[str, list[float]] = {k: [] for k in embedders}
        for _ in range(2):
            for name, embedder in embedders.items():
                enc[name].append(timed(lambda e=embedder: e.encode(texts)))
        rows.append(
            row(
                "ONNX int8 embedder",
                "encode chunks, chunks/s",
                len(texts) / min(enc["torch"]),
                len(texts) / min(enc["onnx-int8"]),
                "chunks/s",
                True,
            )
        )
        qms: dict[str, list[float]] = {k: [] for k in embedders}
        for q in questions:
            for name, embedder in embedders.items():
                qms[name].append(timed(lambda e=embedder: e.encode([q])))
        rows.append(
            row(
                "ONNX int8 embedder",
                "embed question, ms",
                median_ms(qms["torch"]),
                median_ms(qms["onnx-int8"]),
                "ms",
                True,
            )
        )
        miss = [timed(lambda: embedders["onnx-int8"].encode_query(q + " ?")) for q in questions]
        hit = [timed(lambda: embedders["onnx-int8"].encode_query(q + " ?")) for q in questions]
        rows.append(
            row(
                "question-embedding LRU cache",
                "repeated question embed, ms",
                median_ms(miss),
                median_ms(hit),
                "ms",
                True,
            )
        )

        # ---- reader backends on the retrieved top-k, interleaved ----------------------------------
        log("reader: torch vs ONNX fp32 vs ONNX int8, skip on/off")
        retrieved = [pipeline.retrieve(q) for q in questions]
        times: dict[str, list[float]] = {k: [] for k in readers}
        skip_all: list[float] = []
        skip_some: list[float] = []
        read_counts: list[int] = []
        for q, passages in zip(questions, retrieved):
            contexts = [p.text for p in passages]
            for name, reader in readers.items():
                times[name].append(timed(lambda r=reader: r.read(q, contexts, n_best=10)))
            kept = [contexts[i] for i in passages_to_read(passages, base.reader_min_score_ratio)]
            read_counts.append(len(kept))
            skip_all.append(timed(lambda: readers["onnx-int8"].read(q, contexts, n_best=10)))
            skip_some.append(timed(lambda: readers["onnx-int8"].read(q, kept, n_best=10)))
        top_k = base.top_k
        rows.append(
            row(
                "ONNX Runtime reader (fp32)",
                f"read top-{top_k}, ms",
                median_ms(times["torch"]),
                median_ms(times["onnx-fp32"]),
                "ms",
                False,
                "same logits as torch",
            )
        )
        rows.append(
            row(
                "ONNX Runtime reader (int8)",
                f"read top-{top_k}, ms",
                median_ms(times["torch"]),
                median_ms(times["onnx-int8"]),
                "ms",
                True,
            )
        )
        rows.append(
            row(
                f"skip passages < {base.reader_min_score_ratio} x best score",
                "read, ms (ONNX int8)",
                median_ms(skip_all),
                median_ms(skip_some),
                "ms",
                True,
                f"passages read: mean {statistics.mean(read_counts):.2f} of {top_k}",
            )
        )
        # ORT thread spinning (on: ORT's default; off: make_session's), reading the same passages.
        from index.onnx_export import make_session

        spinning = _reader(base, "onnx", "int8", cache, threads)
        spinning.model.session = make_session(spinning.model.exported.path, threads=threads, spinning=True)
        spin_on: list[float] = []
        spin_off: list[float] = []
        for q, passages in zip(questions, retrieved):
            contexts = [p.text for p in passages]
            spin_on.append(timed(lambda: spinning.read(q, contexts, n_best=10)))
            spin_off.append(timed(lambda: readers["onnx-int8"].read(q, contexts, n_best=10)))
        del spinning
        rows.append(
            row(
                "ORT intra-op spinning off",
                f"read top-{top_k}, ms (ONNX int8)",
                median_ms(spin_on),
                median_ms(spin_off),
                "ms",
                True,
            )
        )

        profile = {
            name: profile_read(reader, questions[0], [p.text for p in retrieved[0]]) for name, reader in readers.items()
        }
        stage: dict[str, list[float]] = {"embed": [], "search": [], "bm25": [], "fuse": [], "read": [], "total": []}
        for q in questions:
            pipeline.clear_caches()
            result = pipeline.ask(q)
            for key in stage:
                if key in result.timings_ms:
                    stage[key].append(result.timings_ms[key] / 1000)
        for key, samples in stage.items():
            profile.setdefault("pipeline (ask)", {})[key] = median_ms(samples)

        # ---- accuracy: reader on the gold paragraph, torch fp32 vs ONNX int8 ------------------------
        log(f"accuracy: {plan.accuracy_questions} dev questions on their gold paragraph")
        rows.extend(
            accuracy_rows(
                readers["torch"], readers["onnx-int8"], squad_dir, plan.accuracy_questions, base.no_answer_threshold
            )
        )

        # ---- micro-batching: concurrent asks, batcher off vs on ----------------------------------------
        log(f"micro-batching: {plan.concurrent_questions} asks at concurrency {plan.concurrency}")
        asks = [questions[i % len(questions)] + "?" * (i // len(questions)) for i in range(plan.concurrent_questions)]
        rates: dict[str, float] = {}
        for name, max_q in (("off", 1), ("on", base.batch_max_questions if base.batch_max_questions > 1 else 16)):
            p = Pipeline(
                base.model_copy(update={"data_dir": settings.data_dir, "batch_max_questions": max_q}),
                embedders["onnx-int8"],
                readers["onnx-int8"],
                store,
            )
            try:
                with ThreadPoolExecutor(max_workers=plan.concurrency) as pool:
                    rates[name] = len(asks) / timed(lambda: list(pool.map(p.ask, asks)))
            finally:
                p.close(keep_store=True)  # the store is the first pipeline's
        sequential = len(asks[: max(4, len(asks) // 4)]) / timed(
            lambda: [pipeline.ask(q) for q in asks[: max(4, len(asks) // 4)]]
        )
        rows.append(
            row(
                "micro-batching",
                f"asks/s at concurrency {plan.concurrency}",
                rates["off"],
                rates["on"],
                "asks/s",
                base.batch_max_questions > 1,
                "off by default: merging questions does not make the CPU model faster",
            )
        )
        rows.append(
            row(
                "concurrency (no batching)",
                f"asks/s, concurrency 1 -> {plan.concurrency}",
                sequential,
                rates["off"],
                "asks/s",
                True,
                "in-process, no HTTP",
            )
        )
    finally:
        pipeline.close()
    return {"rows": rows, "profile": profile, "plan": plan.__dict__}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.levers", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few questions only (for tests)")
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    result = measure_levers(QUICK if args.quick else FULL)
    print(markdown(result))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
