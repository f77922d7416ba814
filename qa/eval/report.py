"""Evaluation outputs: report.json, predictions.jsonl and a self-contained report.html.

The HTML page needs nothing but a browser: plots are matplotlib PNGs embedded as base64.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.eval.runner import EvalReport


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def _ms(x: float | None) -> str:
    return "–" if x is None else f"{x:.0f}"


def headline_rows(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(metric, end to end, oracle) rows: the table the CLI prints and the page shows first."""
    e2e, oracle = summary["end_to_end"], summary["oracle"]
    q = summary["questions"]
    ret = summary["retrieval"]
    na = summary["no_answer"]
    best = na["best_threshold"]
    lat = summary["latency_ms"]
    rows = [
        ("Questions (answerable / unanswerable)", f"{q['total']} ({q['has_answer']} / {q['no_answer']})", ""),
        ("EM", _pct(e2e["exact"]), _pct(oracle["exact"])),
        ("F1", _pct(e2e["f1"]), _pct(oracle["f1"])),
        ("EM, answerable", _pct(e2e["has_answer_exact"]), _pct(oracle["has_answer_exact"])),
        ("F1, answerable", _pct(e2e["has_answer_f1"]), _pct(oracle["has_answer_f1"])),
        ("EM = F1, unanswerable", _pct(e2e["no_answer_exact"]), _pct(oracle["no_answer_exact"])),
        (
            "No-answer precision / recall",
            _pr(na["end_to_end"]),
            _pr(na["oracle"]),
        ),
        (
            f"Best threshold on span score (F1 there; used {na['threshold_used']:g})",
            f"{best['end_to_end_best_score']['threshold']:.2f} ({best['end_to_end_best_score']['f1']:.1f})",
            f"{best['oracle_best_score']['threshold']:.2f} ({best['oracle_best_score']['f1']:.1f})",
        ),
        (
            "Best threshold on span − null score (F1 there)",
            f"{best['end_to_end_margin']['threshold']:.2f} ({best['end_to_end_margin']['f1']:.1f})",
            f"{best['oracle_margin']['threshold']:.2f} ({best['oracle_margin']['f1']:.1f})",
        ),
    ]
    recall = ret["recall_at"]
    rows.append(
        (
            "Retrieval recall@1 / 5 / 10 / 20, MRR",
            " / ".join(f"{100 * recall[k]:.1f}" for k in ("1", "5", "10", "20")) + f", {ret['mrr']:.3f}",
            "",
        )
    )
    shown = [s for s in ("embed", "search", "bm25", "rerank", "read", "total") if s in lat]
    if shown:
        rows.append(
            (
                f"Latency p50/p95 ms: {', '.join(shown)}",
                ", ".join(f"{_ms(lat[s]['p50'])}/{_ms(lat[s]['p95'])}" for s in shown),
                "",
            )
        )
    rows.append(("Questions per second (one at a time)", _qps(summary), ""))
    ing = summary["ingest"]
    rows.append(
        (
            "Indexed documents / chunks (chunks/s)",
            f"{ing['documents']} / {ing['chunks']}"
            + (f" ({ing['chunks_per_s']:.1f})" if ing.get("chunks_per_s") else ""),
            "",
        )
    )
    return rows


def _pr(stats: dict[str, Any]) -> str:
    p, r = stats["precision"], stats["recall"]
    return f"{'–' if p is None else f'{100 * p:.1f}'} / {'–' if r is None else f'{100 * r:.1f}'}"


def write_report(report: EvalReport, out_dir: Path) -> dict[str, Path]:
    """Writes the three outputs into `out_dir`; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "report.json",
        "predictions": out_dir / "predictions.jsonl",
        "html": out_dir / "report.html",
    }
    paths["json"].write_text(json.dumps(report.summary, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    with paths["predictions"].open("w", encoding="utf-8") as f:
        for record in report.record_dicts():
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    paths["html"].write_text(render_html(report), encoding="utf-8")
    return paths


# ---- plots ----------------------------------------------------------------------------------


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def plot_recall_curve(records: list[dict[str, Any]], max_k: int = 20) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = list(range(1, max_k + 1))
    n = len(records) or 1
    all_ = [sum(1 for r in records if r["gold_rank"] and r["gold_rank"] <= k) / n for k in ks]
    ans = [r for r in records if r["has_answer"]]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(ks, [100 * v for v in all_], marker="o", ms=3, label="all questions")
    if ans:
        ax.plot(
            ks,
            [100 * sum(1 for r in ans if r["gold_rank"] and r["gold_rank"] <= k) / len(ans) for k in ks],
            marker="s",
            ms=3,
            label="answerable",
        )
    ax.set_xlabel("k (retrieved chunks)")
    ax.set_ylabel("recall@k (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks([1, 5, 10, 15, 20])
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Gold paragraph among the top k chunks")
    return _png(fig)


def plot_score_distributions(records: list[dict[str, Any]], threshold: float, best: float | None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {
        "right answer": [r["best_score"] for r in records if r["prediction"] and r["exact"] == 1.0],
        "wrong answer": [r["best_score"] for r in records if r["prediction"] and r["exact"] < 1.0 and r["has_answer"]],
        "answer to unanswerable": [r["best_score"] for r in records if r["prediction"] and not r["has_answer"]],
        "no answer, right": [r["best_score"] for r in records if not r["prediction"] and not r["has_answer"]],
        "no answer, wrong": [r["best_score"] for r in records if not r["prediction"] and r["has_answer"]],
    }
    groups = {k: [v for v in vs if v is not None and math.isfinite(v)] for k, vs in groups.items()}
    values = [v for vs in groups.values() for v in vs]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if values:
        lo, hi = min(values), max(values)
        bins = [lo + (hi - lo) * i / 40 for i in range(41)] if hi > lo else 10
        for label, vs in groups.items():
            if vs:
                ax.hist(vs, bins=bins, alpha=0.5, label=f"{label} ({len(vs)})")
    ax.axvline(threshold, color="k", ls="--", lw=1, label=f"threshold used {threshold:g}")
    if best is not None:
        ax.axvline(best, color="tab:red", ls=":", lw=1.2, label=f"best threshold {best:.2f}")
    ax.set_xlabel("best span score (start + end logit)")
    ax.set_ylabel("questions")
    ax.legend(fontsize=7)
    ax.set_title("Best span scores of end-to-end predictions")
    return _png(fig)


def plot_threshold_curve(curve: list[dict[str, Any]], threshold: float, best: float | None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    xs = [p["threshold"] for p in curve]
    for key, label in (("f1", "all questions"), ("has_answer_f1", "answerable"), ("no_answer_f1", "unanswerable")):
        ys = [p[key] for p in curve]
        if any(y is not None for y in ys):
            ax.plot(xs, [float("nan") if y is None else y for y in ys], label=label)
    ax.axvline(threshold, color="k", ls="--", lw=1, label=f"used {threshold:g}")
    if best is not None:
        ax.axvline(best, color="tab:red", ls=":", lw=1.2, label=f"best {best:.2f}")
    ax.set_xlabel("no-answer threshold on the best span score")
    ax.set_ylabel("F1 (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("End-to-end F1 if the threshold were changed")
    return _png(fig)


def plot_latency(records: list[dict[str, Any]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    stages = {s: [r["timings_ms"][s] for r in records if s in r["timings_ms"]] for s in ("retrieve", "read", "total")}
    top = max((v for vs in stages.values() for v in vs), default=1.0)
    bins = [top * i / 60 for i in range(61)]  # the same bins for every stage
    for stage, values in stages.items():
        if values:
            ax.hist(values, bins=bins, alpha=0.5, label=stage)
    ax.set_xlabel("milliseconds per question")
    ax.set_ylabel("questions")
    ax.legend()
    ax.set_title("Latency of Pipeline.ask by stage")
    return _png(fig)


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


def _examples(records: list[dict[str, Any]], stage: str, n: int = 15) -> str:
    chosen = [r for r in records if r["failed_stage"] == stage][:n]
    if not chosen:
        return "<p class=small>none</p>"
    rows = [
        [
            r["question"],
            " | ".join(r["gold_answers"]) or "(no answer)",
            r["prediction"] or "(no answer)",
            "–" if r["best_score"] is None else f"{r['best_score']:.2f}",
            r["gold_rank"] or "–",
            r["citation"]["doc_id"] if r["citation"] else "",
        ]
        for r in chosen
    ]
    return _table(["question", "gold", "prediction", "score", "gold rank", "cited"], rows)


def _qps(summary: dict[str, Any]) -> str:
    qps = summary["throughput"]["questions_per_s"]
    return "–" if qps is None else f"{qps:.2f}"


def render_html(report: EvalReport) -> str:
    s = report.summary
    records = report.record_dicts()
    cfg = s["config"]
    na = s["no_answer"]
    best = na["best_threshold"]["end_to_end_best_score"]["threshold"]
    plots = [
        ("Retrieval recall@k", plot_recall_curve(records)),
        ("Score distributions", plot_score_distributions(records, na["threshold_used"], best)),
        ("Threshold trade-off", plot_threshold_curve(s.get("threshold_curve", []), na["threshold_used"], best)),
        ("Latency", plot_latency(records)),
    ]
    headline = _table(
        ["metric", "end to end", "oracle (reader on gold paragraph)"], [list(r) for r in headline_rows(s)]
    )
    latency = _table(
        ["stage", "p50 ms", "p95 ms", "mean ms"],
        [[k, _ms(v["p50"]), _ms(v["p95"]), _ms(v["mean"])] for k, v in s["latency_ms"].items()],
    )
    failures = _table(["outcome", "questions"], [[k, v] for k, v in sorted(s["failures"].items())])
    config = _table(["setting", "value"], [[k, v if isinstance(v, str) else json.dumps(v)] for k, v in cfg.items()])
    figures = "".join(
        f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{png}">'
        f"<figcaption class=small>{html.escape(title)}</figcaption></figure>"
        for title, png in plots
    )
    examples = "".join(
        f"<h3>{html.escape(label)}</h3>{_examples(records, stage)}"
        for stage, label in (
            ("retrieval", "Lost in retrieval (gold paragraph not among the passages read)"),
            ("reading", "Lost in reading (gold paragraph read, wrong span)"),
            ("no-answer", "No-answer confusions"),
        )
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>spanqa evaluation</title><style>{_CSS}</style></head>
<body>
<h1>spanqa evaluation</h1>
<p class=small>{html.escape(s["created"])} · data: {html.escape(", ".join(cfg["data_files"]))}
{"· articles: " + html.escape(", ".join(cfg["articles"])) if cfg.get("articles") else ""}
· distractors: {html.escape(", ".join(cfg["corpus_files"]) or "none")} · top_k {cfg["top_k"]}</p>
<p class=small>EM/F1 follow the official SQuAD 2.0 script (percent). "Oracle" is the reader alone on the
gold paragraph with the same no-answer threshold. Best thresholds are what would maximize F1 on this data:
answer when the score is at least the threshold. They are reported, not applied.</p>
<h2>Headline</h2>{headline}
<h2>Plots</h2><div class=plots>{figures}</div>
<h2>Where questions are lost</h2>{failures}
<h2>Latency per stage</h2>{latency}
<p class=small>{_qps(s)} questions/s, asked one at a time.</p>
<h2>Examples</h2>{examples}
<h2>Configuration</h2>{config}
<p class=small>Per-question details: <code>predictions.jsonl</code>; all numbers: <code>report.json</code>.</p>
</body></html>
"""
