"""End-to-end evaluation: index SQuAD paragraphs, ask every question through the pipeline, score.

The flow, all through `qa.pipeline.Pipeline` (the same code the API runs):
1. A fresh index in `out_dir/index`: every paragraph of DATA and of the `--corpus` files is one
   document (id `f"{title}-{i}"`, title = article title, metadata {"article": title}).
2. Every selected question goes through `Pipeline.ask` -> the end-to-end prediction.
3. `Pipeline.retrieve(question, top_k=20)` -> rank of the first chunk of the gold paragraph
   -> recall@1/5/10/20 and MRR.
4. The reader alone on the gold paragraph (`pipeline.read_batch`), with the same
   no-answer rule -> "oracle" EM/F1: what is lost in reading when retrieval is perfect.
5. No-answer precision/recall, and the thresholds that would maximize F1 (reported only).

`report.write_report` turns the result into report.json, predictions.jsonl and report.html.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from errors import InvalidRequest
from qa.eval import metrics
from qa.eval.squad import Question, SquadData, load_squad
from qa.pipeline import AskResult, NewDocument, Pipeline
from qa.settings import Settings

RECALL_KS = (1, 5, 10, 20)
# Stages of AskResult.timings_ms in report order; those a run did not time are left out.
STAGES = ("embed", "search", "bm25", "fuse", "rerank", "retrieve", "read", "total")
ORACLE_BATCH = 32


@dataclass
class QuestionRecord:
    """One question's outcome: one line of predictions.jsonl."""

    id: str
    question: str
    article: str
    paragraph_id: str
    gold_answers: list[str]
    has_answer: bool
    prediction: str  # "" = no answer
    citation: dict[str, Any] | None  # doc_id, title, start, end, page of the top answer
    confidence: float | None
    best_score: float | None  # best span score before the threshold (None: nothing retrieved)
    null_score: float | None
    best_span: str  # the best span's text even when it fell below the threshold
    exact: float
    f1: float
    gold_retrieved: bool  # a chunk of the gold paragraph was among the passages read
    gold_rank: int | None  # rank of its first chunk in the top-20 retrieval, None if absent
    oracle_prediction: str
    oracle_best_span: str
    oracle_score: float | None
    oracle_null_score: float | None
    oracle_exact: float
    oracle_f1: float
    failed_stage: str | None  # "retrieval" | "reading" | "no-answer" | None (right)
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class EvalReport:
    """Headline numbers (`summary`, what report.json holds) and the per-question records."""

    summary: dict[str, Any]
    records: list[QuestionRecord]
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)  # "json", "predictions", "html"

    def record_dicts(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.records]


# A progress reporter: progress(description, total) is a context manager yielding advance(n).
Progress = Callable[[str, int], Any]


@contextmanager
def rich_progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar (on stderr) for one phase; yields `advance(n)`."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import (
        Progress as Bar,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Bar(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)


@contextmanager
def no_progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    yield lambda n=1: None


def select_questions(data: SquadData, articles: Sequence[str] | None, limit: int | None) -> list[Question]:
    """The questions to ask: those of `articles` (all when None), the first `limit` of them."""
    questions = data.questions
    if articles:
        known = set(data.titles)
        unknown = [a for a in articles if a not in known]
        if unknown:
            raise ValueError(f"unknown article(s) {', '.join(unknown)}; the data has: {', '.join(data.titles)}")
        wanted = set(articles)
        questions = [q for q in questions if q.title in wanted]
    if limit is not None:
        questions = questions[: max(0, limit)]
    return questions


INDEX_MARKER = ".spanqa-eval-index"


def fresh_index_dir(out_dir: Path) -> Path:
    """An empty `out_dir/index` for this run, removing the one a previous run left.

    Only a folder this function made (it holds INDEX_MARKER) is ever removed, so a careless
    `--out` cannot delete anything else that happens to be called `index`.
    """
    index_dir = out_dir / "index"
    if index_dir.exists():
        if not (index_dir / INDEX_MARKER).is_file():
            raise ValueError(f"{index_dir} exists and was not made by spanqa eval; choose another --out folder")
        shutil.rmtree(index_dir)
    index_dir.mkdir(parents=True)
    (index_dir / INDEX_MARKER).write_text("made by spanqa eval; removed by the next run\n", encoding="utf-8")
    return index_dir


def build_index(pipeline: Pipeline, corpus: SquadData, progress: Progress = no_progress) -> dict[str, Any]:
    """Ingests every paragraph as a document; returns counts and throughput."""
    docs = [
        NewDocument(
            text=p.context,
            title=p.title,
            id=p.id,
            metadata={"article": p.title},
            source=p.source,
        )
        for p in corpus.paragraphs
    ]
    t0 = time.perf_counter()
    with progress("indexing paragraphs", len(docs)) as advance:
        results = pipeline.ingest_many(docs, progress=advance)
    seconds = time.perf_counter() - t0
    chunks = sum(r.chunks for r in results)
    return {
        "documents": len(results),
        "chunks": chunks,
        "seconds": seconds,
        "documents_per_s": len(results) / seconds if seconds else None,
        "chunks_per_s": chunks / seconds if seconds else None,
    }


def _ask(pipeline: Pipeline, question: str, top_k: int) -> AskResult:
    """`Pipeline.ask`; a question the pipeline refuses (e.g. empty) counts as answered "no answer"."""
    try:
        return pipeline.ask(question, top_k=top_k)
    except InvalidRequest:
        return AskResult(question=question, answers=[], no_answer=True, passages=[], timings_ms={})


def _citation(result: AskResult) -> dict[str, Any] | None:
    if not result.answers:
        return None
    c = result.answers[0].citation
    return {"doc_id": c.doc_id, "title": c.title, "start": c.start, "end": c.end, "page": c.page}


def _finite(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _apply_threshold(text: str, score: float | None, threshold: float) -> str:
    """The pipeline's no-answer rule: no answer when the best span scores below the threshold."""
    return text if score is not None and not math.isnan(score) and score >= threshold else ""


def _failed_stage(q: Question, prediction: str, exact: float, gold_retrieved: bool) -> str | None:
    """Which stage lost this question, None when the prediction is right (EM)."""
    if exact == 1.0:
        return None
    if not q.has_answer:
        return "no-answer"  # answered an unanswerable question
    if not gold_retrieved:
        return "retrieval"
    if not prediction:
        return "no-answer"  # the gold paragraph was read, but the answer fell below threshold
    return "reading"


def run_eval(
    data_files: Sequence[str | Path],
    corpus_files: Sequence[str | Path] = (),
    *,
    top_k: int | None = None,
    out_dir: str | Path = "eval-out",
    settings: Settings | None = None,
    articles: Sequence[str] | None = None,
    limit: int | None = None,
    progress: Progress = rich_progress,
    write: bool = True,
) -> EvalReport:
    """Evaluates spanqa end to end on SQuAD-format `data_files` (see the module docstring).

    `corpus_files` add distractor paragraphs. `articles` restricts the questions asked (all
    paragraphs are still indexed); `limit` asks only the first N. The index is rebuilt from
    scratch in `out_dir/index`. Writes the report files unless `write` is False.
    """
    from qa.eval.report import write_report  # matplotlib only when writing

    settings = settings or Settings()
    out_dir = Path(out_dir)
    index_dir = fresh_index_dir(out_dir)
    settings = settings.model_copy(update={"data_dir": index_dir})
    top_k = top_k or settings.top_k
    threshold = settings.no_answer_threshold

    data = load_squad(data_files)
    corpus = load_squad([*data_files, *corpus_files], with_questions=False)
    questions = select_questions(data, articles, limit)
    if not questions:
        raise ValueError("no questions to ask (check the data file, --articles and --limit)")
    contexts = {p.id: p.context for p in corpus.paragraphs}

    t_load = time.perf_counter()
    pipeline = Pipeline.from_settings(settings)
    pipeline.warm_up()  # models load lazily: count their loading here, not in the first question
    load_seconds = time.perf_counter() - t_load
    try:
        ingest = build_index(pipeline, corpus, progress)

        # 1. End to end, one question at a time, exactly as the API asks.
        asked: list[AskResult] = []
        t0 = time.perf_counter()
        with progress("asking questions", len(questions)) as advance:
            for q in questions:
                asked.append(_ask(pipeline, q.question, top_k))
                advance(1)
        ask_seconds = time.perf_counter() - t0

        # 2. Retrieval ranks in the top 20 (or top_k when larger).
        depth = max(max(RECALL_KS), top_k)
        ranks: list[int | None] = []
        with progress("retrieval depth 20", len(questions)) as advance:
            for q in questions:
                try:
                    passages = pipeline.retrieve(q.question, top_k=depth)
                except InvalidRequest:
                    passages = []
                ranks.append(metrics.first_hit_rank((p.doc_id for p in passages), q.paragraph_id))
                advance(1)

        # 3. The best span of each question that got no answer (what it would have said
        #    without the threshold), so the threshold sweep can consider answering it.
        unanswered = [i for i, r in enumerate(asked) if r.no_answer and r.passages]
        below: dict[int, str] = {}
        with progress("best spans below threshold", len(unanswered)) as advance:
            for b in range(0, len(unanswered), ORACLE_BATCH):
                idx = unanswered[b : b + ORACLE_BATCH]
                readings = pipeline.read_batch(
                    [asked[i].question for i in idx],
                    [[p.text for p in asked[i].passages] for i in idx],
                    n_best=1,
                )
                for i, reading in zip(idx, readings):
                    below[i] = reading.spans[0].text if reading.spans else ""
                advance(len(idx))

        # 4. Oracle: the reader alone on the gold paragraph.
        oracle = []
        with progress("reader on gold paragraphs", len(questions)) as advance:
            for b in range(0, len(questions), ORACLE_BATCH):
                batch = questions[b : b + ORACLE_BATCH]
                oracle.extend(
                    pipeline.read_batch(
                        [q.question for q in batch], [[contexts[q.paragraph_id]] for q in batch], n_best=1
                    )
                )
                advance(len(batch))
        index_stats = pipeline.health()
    finally:
        pipeline.close()

    records = []
    for i, (q, result, rank, reading) in enumerate(zip(questions, asked, ranks, oracle)):
        prediction = result.answers[0].text if result.answers else ""
        best_span = prediction or below.get(i, "")
        o_span = reading.spans[0] if reading.spans else None
        o_score = o_span.score if o_span else None
        o_pred = _apply_threshold(o_span.text if o_span else "", o_score, threshold)
        exact = metrics.exact_match(prediction, q.answers)
        gold_retrieved = any(p.doc_id == q.paragraph_id for p in result.passages)
        records.append(
            QuestionRecord(
                id=q.id,
                question=q.question,
                article=q.title,
                paragraph_id=q.paragraph_id,
                gold_answers=q.answers,
                has_answer=q.has_answer,
                prediction=prediction,
                citation=_citation(result),
                confidence=result.answers[0].confidence if result.answers else None,
                best_score=_finite(result.best_score),
                null_score=_finite(result.null_score),
                best_span=best_span,
                exact=exact,
                f1=metrics.f1(prediction, q.answers),
                gold_retrieved=gold_retrieved,
                gold_rank=rank,
                oracle_prediction=o_pred,
                oracle_best_span=o_span.text if o_span else "",
                oracle_score=_finite(o_score),
                oracle_null_score=_finite(reading.null_score),
                oracle_exact=metrics.exact_match(o_pred, q.answers),
                oracle_f1=metrics.f1(o_pred, q.answers),
                failed_stage=_failed_stage(q, prediction, exact, gold_retrieved),
                timings_ms=dict(result.timings_ms),
            )
        )

    summary = summarize(
        records,
        threshold=threshold,
        top_k=top_k,
        ask_seconds=ask_seconds,
        ingest=ingest,
        config={
            "data_files": [str(p) for p in data_files],
            "corpus_files": [str(p) for p in corpus_files],
            "articles": list(articles) if articles else None,
            "limit": limit,
            "top_k": top_k,
            "no_answer_threshold": threshold,
            "embedding_model": settings.embedding_model,
            "reader_model": settings.reader_model,
            "index_type": settings.index_type,
            "retrieval": getattr(settings, "retrieval", "dense"),
            "rerank": getattr(settings, "rerank", False),
            "backend": getattr(settings, "backend", "torch"),
            "onnx_precision": getattr(settings, "onnx_precision", None),
            "chunk_tokens": settings.chunk_tokens,
            "chunk_overlap": settings.chunk_overlap,
            "reader_max_length": settings.reader_max_length,
            "reader_stride": settings.reader_stride,
            "model_load_seconds": load_seconds,
            "index": {"documents": index_stats.get("documents"), "chunks": index_stats.get("chunks")},
        },
    )
    report = EvalReport(summary=summary, records=records, out_dir=out_dir)
    if write:
        report.files = write_report(report, out_dir)
    return report


def _scores(records: list[QuestionRecord], pred: str, score: str | None = None, threshold: float | None = None) -> dict:
    preds = {r.id: getattr(r, pred) for r in records}
    golds = {r.id: r.gold_answers for r in records}
    scores = {r.id: getattr(r, score) for r in records} if score else None
    return metrics.squad2_scores(preds, golds, scores, threshold).as_dict()


def _threshold(records: list[QuestionRecord], pred: str, score_of: Callable[[QuestionRecord], float | None]) -> dict:
    preds = {r.id: getattr(r, pred) for r in records}
    golds = {r.id: r.gold_answers for r in records}
    scores = {r.id: s for r in records if (s := score_of(r)) is not None}
    return asdict(metrics.best_null_threshold(preds, golds, scores))


def _curve(records: list[QuestionRecord], points: int = 41) -> list[dict[str, float | None]]:
    """End-to-end F1 against the threshold on the best span score, over the range of scores seen."""
    scores = {r.id: r.best_score for r in records if r.best_score is not None}
    if not scores:
        return []
    lo, hi = math.floor(min(scores.values())), math.ceil(max(scores.values()))
    grid = [lo + (hi - lo) * i / (points - 1) for i in range(points)] if hi > lo else [lo]
    return metrics.threshold_curve(
        {r.id: r.best_span for r in records}, {r.id: r.gold_answers for r in records}, scores, grid
    )


def _margin(best: float | None, null: float | None) -> float | None:
    return None if best is None or null is None else best - null


def summarize(
    records: list[QuestionRecord],
    *,
    threshold: float,
    top_k: int,
    ask_seconds: float,
    ingest: dict[str, Any],
    config: dict[str, Any],
) -> dict[str, Any]:
    """The headline numbers of report.json."""
    golds = {r.id: r.gold_answers for r in records}
    ranks = [r.gold_rank for r in records]
    answerable_ranks = [r.gold_rank for r in records if r.has_answer]
    latency = {
        stage: {
            "p50": metrics.percentile(values, 50),
            "p95": metrics.percentile(values, 95),
            "mean": sum(values) / len(values) if values else None,
        }
        for stage in STAGES
        if (values := [r.timings_ms[stage] for r in records if stage in r.timings_ms])
    }
    failures: dict[str, int] = {}
    for r in records:
        key = r.failed_stage or "right"
        failures[key] = failures.get(key, 0) + 1
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": config,
        "questions": {
            "total": len(records),
            "has_answer": sum(r.has_answer for r in records),
            "no_answer": sum(not r.has_answer for r in records),
        },
        "ingest": ingest,
        "end_to_end": _scores(records, "prediction"),
        "oracle": _scores(records, "oracle_prediction"),
        "retrieval": {
            "recall_at": {str(k): metrics.recall_at_k(ranks, k) for k in RECALL_KS},
            "mrr": metrics.mean_reciprocal_rank(ranks),
            "has_answer_recall_at": {str(k): metrics.recall_at_k(answerable_ranks, k) for k in RECALL_KS},
            "gold_in_read_passages": sum(r.gold_retrieved for r in records) / len(records),
            "top_k_read": top_k,
        },
        "no_answer": {
            "end_to_end": metrics.no_answer_stats({r.id: r.prediction for r in records}, golds).as_dict(),
            "oracle": metrics.no_answer_stats({r.id: r.oracle_prediction for r in records}, golds).as_dict(),
            "threshold_used": threshold,
            # Answer when the score is >= threshold; reported, never applied. "best_score":
            # the best span's start+end logit (the pipeline's rule, comparable to
            # threshold_used); "margin": best span score minus the [CLS] null score.
            "best_threshold": {
                "end_to_end_best_score": _threshold(records, "best_span", lambda r: r.best_score),
                "end_to_end_margin": _threshold(records, "best_span", lambda r: _margin(r.best_score, r.null_score)),
                "oracle_best_score": _threshold(records, "oracle_best_span", lambda r: r.oracle_score),
                "oracle_margin": _threshold(
                    records, "oracle_best_span", lambda r: _margin(r.oracle_score, r.oracle_null_score)
                ),
            },
        },
        "threshold_curve": _curve(records),
        "failures": failures,
        "latency_ms": latency,
        "throughput": {
            "ask_seconds": ask_seconds,
            "questions_per_s": len(records) / ask_seconds if ask_seconds else None,
        },
    }


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """Reads predictions.jsonl back (for tests and notebooks)."""
    import json

    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
