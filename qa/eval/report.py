"""Evaluation outputs: report.json, predictions.jsonl and a self-contained report.html.

The HTML page needs nothing but a browser: plots are matplotlib PNGs embedded as base64.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from qa.eval.misses import MISS_CLASSES
from qa.eval.plots import (
    plot_latency,
    plot_recall_curve,
    plot_reliability,
    plot_score_distributions,
    plot_threshold_curve,
)
from qa.eval.records import EvalReport, EvalSummary, QuestionRecord


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def _ms(x: float | None) -> str:
    return "–" if x is None else f"{x:.0f}"


def _p100(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _ece(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def headline_rows(summary: EvalSummary) -> list[tuple[str, str, str]]:
    """(metric, end to end, oracle) rows: the table the CLI prints and the page shows first."""
    e2e, oracle, q = summary.end_to_end, summary.oracle, summary.questions
    ret, na, cal, lat = summary.retrieval, summary.no_answer, summary.calibration, summary.latency_ms
    best = na.best_threshold
    rows = [
        ("Questions (answerable / unanswerable)", f"{q.total} ({q.has_answer} / {q.no_answer})", ""),
        ("EM", _pct(e2e.exact), _pct(oracle.exact)),
        ("F1", _pct(e2e.f1), _pct(oracle.f1)),
        ("EM, answerable", _pct(e2e.has_answer_exact), _pct(oracle.has_answer_exact)),
        ("F1, answerable", _pct(e2e.has_answer_f1), _pct(oracle.has_answer_f1)),
        (
            "F1, answerable, answering everything",
            _pct(na.answer_all_has_answer_f1),
            _pct(na.oracle_answer_all_has_answer_f1),
        ),
        ("EM = F1, unanswerable (no-answer accuracy)", _pct(e2e.no_answer_exact), _pct(oracle.no_answer_exact)),
        (
            "No-answer precision / recall",
            _pr(na.end_to_end.precision, na.end_to_end.recall),
            _pr(na.oracle.precision, na.oracle.recall),
        ),
        (
            "No-answer rule",
            f"confidence < {na.min_confidence:g}"
            if na.min_confidence is not None
            else f"span score < {na.threshold_used:g}",
            "",
        ),
        (
            "Confidence ECE (10 bins): calibrator used / refitted leave-one-article-out",
            f"{_ece(cal.ece)} / {_ece(cal.ece_held_out)}",
            "",
        ),
        ("Best candidate right (token F1 ≥ 0.5)", _p100(cal.right_rate), ""),
        (
            "Best threshold on span score (F1 there)",
            f"{best['end_to_end_best_score'].threshold:.2f} ({best['end_to_end_best_score'].f1:.1f})",
            f"{best['oracle_best_score'].threshold:.2f} ({best['oracle_best_score'].f1:.1f})",
        ),
        (
            "Best threshold on confidence (F1 there)",
            f"{best['end_to_end_confidence'].threshold:.2f} ({best['end_to_end_confidence'].f1:.1f})",
            "",
        ),
        (
            "Retrieval recall@1 / 5 / 10 / 20, MRR",
            " / ".join(_p100(ret.recall_at[k]) for k in ("1", "5", "10", "20")) + f", {ret.mrr:.3f}",
            "",
        ),
    ]
    shown = [s for s in ("embed", "search", "bm25", "rerank", "read", "total") if s in lat]
    if shown:
        rows.append(
            (
                f"Latency p50/p95 ms: {', '.join(shown)}",
                ", ".join(f"{_ms(lat[s].p50)}/{_ms(lat[s].p95)}" for s in shown),
                "",
            )
        )
    rows.append(("Questions per second (one at a time)", _qps(summary), ""))
    ing = summary.ingest
    rows.append(
        (
            "Indexed documents / chunks (chunks/s)",
            f"{ing.documents} / {ing.chunks}" + (f" ({ing.chunks_per_s:.1f})" if ing.chunks_per_s else ""),
            "",
        )
    )
    return rows


def _pr(precision: float | None, recall: float | None) -> str:
    return f"{_p100(precision)} / {_p100(recall)}"


def write_report(report: EvalReport, out_dir: Path) -> dict[str, Path]:
    """Writes the three outputs into `out_dir`; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "report.json",
        "predictions": out_dir / "predictions.jsonl",
        "html": out_dir / "report.html",
    }
    paths["json"].write_text(json.dumps(report.summary.as_json(), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    with paths["predictions"].open("w", encoding="utf-8") as f:
        for record in report.record_dicts():
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    paths["html"].write_text(render_html(report), encoding="utf-8")
    return paths


# ---- the page -------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plots figure{margin:0}.plots img{max-width:520px;width:100%}
code{background:#f5f5f5;padding:0 .2em}.small{font-size:.85em;color:#555}
"""


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _examples(records: list[QuestionRecord], miss: str, n: int = 12) -> str:
    chosen = [r for r in records if r.miss == miss][:n]
    if not chosen:
        return "<p class=small>none</p>"
    rows = [
        [
            r.question,
            " | ".join(r.gold_answers) or "(no answer)",
            r.prediction or f"(no answer; best: {r.best_span})",
            "–" if r.confidence is None else f"{r.confidence:.2f}",
            r.gold_rank or "–",
            r.citation["doc_id"] if r.citation else "",
        ]
        for r in chosen
    ]
    return _table(["question", "gold", "prediction", "confidence", "gold rank", "cited"], rows)


def _qps(summary: EvalSummary) -> str:
    qps = summary.throughput.questions_per_s
    return "–" if qps is None else f"{qps:.2f}"


def render_html(report: EvalReport) -> str:
    s = report.summary
    records = report.records
    cfg = s.config
    na = s.no_answer
    best = na.best_threshold["end_to_end_best_score"].threshold
    plots = [
        ("Reliability diagram", plot_reliability(s.calibration.reliability, s.calibration.reliability_held_out)),
        ("Retrieval recall@k", plot_recall_curve(records)),
        ("Score distributions", plot_score_distributions(records, na.threshold_used, best)),
        ("Threshold trade-off", plot_threshold_curve(s.threshold_curve, na.threshold_used, best)),
        ("Latency", plot_latency(records)),
    ]
    headline = _table(
        ["metric", "end to end", "oracle (reader on gold paragraph)"], [list(r) for r in headline_rows(s)]
    )
    latency = _table(
        ["stage", "p50 ms", "p95 ms", "mean ms"],
        [[k, _ms(v.p50), _ms(v.p95), _ms(v.mean)] for k, v in s.latency_ms.items()],
    )
    total = s.questions.total or 1
    misses = _table(
        ["outcome", "what happened", "questions", "% of all"],
        [[k, MISS_CLASSES.get(k, "exact match"), v, f"{100 * v / total:.1f}"] for k, v in s.failures.items()],
    )
    config = _table(["setting", "value"], [[k, v if isinstance(v, str) else json.dumps(v)] for k, v in cfg.items()])
    figures = "".join(
        f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{png}">'
        f"<figcaption class=small>{html.escape(title)}</figcaption></figure>"
        for title, png in plots
    )
    examples = "".join(
        f"<h3>{html.escape(key)}: {html.escape(label)}</h3>{_examples(records, key)}"
        for key, label in MISS_CLASSES.items()
        if key in s.failures
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>spanqa evaluation</title><style>{_CSS}</style></head>
<body>
<h1>spanqa evaluation</h1>
<p class=small>{html.escape(s.created)} · data: {html.escape(", ".join(cfg["data_files"]))}
{"· articles: " + html.escape(", ".join(cfg["articles"])) if cfg.get("articles") else ""}
· distractors: {html.escape(", ".join(cfg["corpus_files"]) or "none")} · top_k {cfg["top_k"]}</p>
<p class=small>EM/F1 follow the official SQuAD 2.0 script (percent). "Oracle" is the reader alone on the
gold paragraph with the same answer selection and no-answer rule. Confidence is the calibrated probability
that the best candidate is right (token F1 ≥ 0.5); ECE is its expected calibration error. Best thresholds
are what would maximize F1 on this data; they are reported, not applied.</p>
<h2>Headline</h2>{headline}
<h2>Where questions are lost</h2>{misses}
<h2>Plots</h2><div class=plots>{figures}</div>
<h2>Latency per stage</h2>{latency}
<p class=small>{_qps(s)} questions/s, asked one at a time.</p>
<h2>Examples of each miss</h2>{examples}
<h2>Configuration</h2>{config}
<p class=small>Per-question details: <code>predictions.jsonl</code>; all numbers: <code>report.json</code>.</p>
</body></html>
"""
