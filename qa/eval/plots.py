"""The report's plots: matplotlib figures as base64 PNGs (the page embeds them)."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

from qa.calibration import ReliabilityBin
from qa.eval.records import QuestionRecord


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def plot_recall_curve(records: list[QuestionRecord], max_k: int = 20) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = list(range(1, max_k + 1))
    n = len(records) or 1
    all_ = [sum(1 for r in records if r.gold_rank and r.gold_rank <= k) / n for k in ks]
    ans = [r for r in records if r.has_answer]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(ks, [100 * v for v in all_], marker="o", ms=3, label="all questions")
    if ans:
        ax.plot(
            ks,
            [100 * sum(1 for r in ans if r.gold_rank and r.gold_rank <= k) / len(ans) for k in ks],
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


def plot_reliability(bins: list[ReliabilityBin], held_out: list[ReliabilityBin]) -> str:
    """Reliability diagram: per confidence bin, the share of right answers against the mean
    confidence (the diagonal is perfect calibration); marker size shows the bin's questions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot([0, 1], [0, 1], color="k", lw=0.8, ls="--", label="perfect calibration")
    for label, shown, marker in (("calibrator used", bins, "o"), ("refitted without the article", held_out, "s")):
        points = [(b.mean_confidence, b.accuracy, b.count) for b in shown if b.count]
        if points:
            xs, ys, ns = zip(*points)
            ax.plot(xs, ys, marker=marker, label=label)
            ax.scatter(xs, ys, s=[10 + 200 * n / max(ns) for n in ns], alpha=0.3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (mean in bin)")
    ax.set_ylabel("share right (token F1 >= 0.5)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("Reliability of the confidence (10 bins)")
    return _png(fig)


def plot_score_distributions(records: list[QuestionRecord], threshold: float, best: float | None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {
        "right answer": [r.best_score for r in records if r.prediction and r.exact == 1.0],
        "wrong answer": [r.best_score for r in records if r.prediction and r.exact < 1.0 and r.has_answer],
        "answer to unanswerable": [r.best_score for r in records if r.prediction and not r.has_answer],
        "no answer, right": [r.best_score for r in records if not r.prediction and not r.has_answer],
        "no answer, wrong": [r.best_score for r in records if not r.prediction and r.has_answer],
    }
    finite: dict[str, list[float]] = {
        k: [v for v in vs if v is not None and math.isfinite(v)] for k, vs in groups.items()
    }
    values = [v for vs in finite.values() for v in vs]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if values:
        lo, hi = min(values), max(values)
        bins = [lo + (hi - lo) * i / 40 for i in range(41)] if hi > lo else 10
        for label, vs in finite.items():
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


def plot_latency(records: list[QuestionRecord]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    stages = {s: [r.timings_ms[s] for r in records if s in r.timings_ms] for s in ("retrieve", "read", "total")}
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
