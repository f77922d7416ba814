"""End-to-end evaluation: index SQuAD paragraphs, ask every question through the pipeline, score.

The flow, all through `qa.pipeline.Pipeline` (the same code the API runs):
1. A fresh index in `out_dir/index`: every paragraph of DATA and of the `--corpus` files is one
   document (id `f"{title}-{i}"`, title = article title, metadata {"article": title}).
2. Every selected question goes through `Pipeline.ask` -> the end-to-end prediction.
3. `Pipeline.retrieve(question, top_k=20)` -> rank of the first chunk of the gold paragraph
   -> recall@1/5/10/20 and MRR.
4. The reader alone on the gold paragraph (`pipeline.read_batch`), with the same
   selection and no-answer rule -> "oracle" EM/F1: what is lost when retrieval is perfect.
5. Each miss classified by stage (qa.eval.misses); calibration (ECE, reliability, and the same
   refitted leave-one-article-out, qa.eval.summary); no-answer precision/recall.

Records and summary are dataclasses (qa.eval.records); `report.write_report` turns them into
report.json, predictions.jsonl and report.html.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from errors import InvalidRequest
from qa import selection
from qa.answers import Passage
from qa.eval import metrics
from qa.eval.misses import classify_miss
from qa.eval.progress import Progress, no_progress, rich_progress
from qa.eval.records import EvalReport, IngestStats, QuestionRecord
from qa.eval.squad import Question, SquadData, load_squad
from qa.eval.summary import RECALL_KS, summarize
from qa.pipeline import AskResult, NewDocument, Pipeline
from qa.reader import Reading
from qa.settings import Settings

ORACLE_BATCH = 32
__all__ = ["EvalReport", "QuestionRecord", "no_progress", "rich_progress", "run_eval"]


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


def build_index(pipeline: Pipeline, corpus: SquadData, progress: Progress = no_progress) -> IngestStats:
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
    return IngestStats(
        documents=len(results),
        chunks=chunks,
        seconds=seconds,
        documents_per_s=len(results) / seconds if seconds else None,
        chunks_per_s=chunks / seconds if seconds else None,
    )


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


def _oracle_prediction(pipeline: Pipeline, q: Question, context: str, reading: Reading) -> tuple[str, float | None]:
    """The reader alone on the gold paragraph, with the pipeline's no-answer rule: its best
    candidate (or "" below the cut-off) and that candidate's confidence."""
    passage = Passage(0, q.paragraph_id, q.title, context, 0, len(context), None, 1.0)
    found = selection.candidates([passage], [reading])
    if not found:
        return "", None
    confidence = pipeline.confidence(found[0])
    return (found[0].primary.text if confidence >= pipeline.min_confidence else ""), confidence


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

        # 3. Oracle: the reader alone on the gold paragraph.
        oracle = []
        with progress("reader on gold paragraphs", len(questions)) as advance:
            for b in range(0, len(questions), ORACLE_BATCH):
                batch = questions[b : b + ORACLE_BATCH]
                oracle.extend(
                    pipeline.read_batch(
                        [q.question for q in batch], [[contexts[q.paragraph_id]] for q in batch], n_best=20
                    )
                )
                advance(len(batch))
        oracle_predictions = [
            _oracle_prediction(pipeline, q, contexts[q.paragraph_id], reading) for q, reading in zip(questions, oracle)
        ]
        index_stats = pipeline.health()
        min_confidence = pipeline.min_confidence if pipeline.calibrator else None
        calibrator = pipeline.calibrator.fitted_on or "calibrator" if pipeline.calibrator else None
    finally:
        pipeline.close()

    records = [
        _record(q, result, rank, reading, oracle_pred)
        for q, result, rank, reading, oracle_pred in zip(questions, asked, ranks, oracle, oracle_predictions)
    ]
    summary = summarize(
        records,
        threshold=threshold,
        min_confidence=min_confidence,
        calibrator=calibrator,
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
            "min_confidence": min_confidence,
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


def _record(
    q: Question, result: AskResult, rank: int | None, reading: Reading, oracle: tuple[str, float | None]
) -> QuestionRecord:
    prediction = result.answers[0].text if result.answers else ""
    best = result.candidates[0] if result.candidates else None
    best_span = best.primary.text if best else ""
    o_span = reading.spans[0] if reading.spans else None
    o_pred = oracle[0]
    exact = metrics.exact_match(prediction, q.answers)
    gold_retrieved = any(p.doc_id == q.paragraph_id for p in result.passages)
    citation = _citation(result)
    return QuestionRecord(
        id=q.id,
        question=q.question,
        article=q.title,
        paragraph_id=q.paragraph_id,
        gold_answers=q.answers,
        has_answer=q.has_answer,
        prediction=prediction,
        citation=citation,
        citations=len(result.answers[0].citations) if result.answers else 0,
        confidence=result.best_confidence,
        best_score=_finite(result.best_score),
        null_score=_finite(result.null_score),
        best_span=best_span,
        best_doc_id=best.primary.doc_id if best else None,
        features=dict(best.features) if best else {},
        exact=exact,
        f1=metrics.f1(prediction, q.answers),
        best_right=q.has_answer and metrics.f1(best_span, q.answers) >= 0.5,
        gold_retrieved=gold_retrieved,
        gold_rank=rank,
        oracle_prediction=o_pred,
        oracle_best_span=o_span.text if o_span else "",
        oracle_score=_finite(o_span.score if o_span else None),
        oracle_null_score=_finite(reading.null_score),
        oracle_exact=metrics.exact_match(o_pred, q.answers),
        oracle_f1=metrics.f1(o_pred, q.answers),
        miss=classify_miss(
            has_answer=q.has_answer,
            prediction=prediction,
            golds=q.answers,
            exact=exact,
            gold_retrieved=gold_retrieved,
            cited_doc=citation["doc_id"] if citation else None,
            gold_doc=q.paragraph_id,
        ),
        timings_ms=dict(result.timings_ms),
    )


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """Reads predictions.jsonl back (for tests and notebooks)."""
    import json

    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
