"""The pieces of `bench.levers`: timing helpers, result rows, the read-stage profile, the reader
accuracy comparison and the Markdown table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.corpus import DEV_ARTICLES, LABELLED
from qa.eval.metrics import f1
from qa.eval.squad import load_squad
from qa.reader import Reader
from qa.windows import encode_windows


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000 if samples else float("nan")


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def row(lever: str, metric: str, before: float, after: float, unit: str, kept: bool, note: str = "") -> dict[str, Any]:
    higher_is_better = unit.endswith("/s") or unit in {"F1", "EM", "%"}
    if unit in {"F1", "EM"}:
        change = f"{after - before:+.2f} points"
    elif before and after:
        ratio = after / before if higher_is_better else before / after
        change = f"{ratio:.2f}x {'faster' if unit != '%' else ''}".strip()
    else:
        change = ""
    return {
        "lever": lever,
        "metric": metric,
        "before": before,
        "after": after,
        "unit": unit,
        "change": change,
        "kept": kept,
        "note": note,
    }


def profile_read(reader: Reader, question: str, contexts: list[str], repeats: int = 3) -> dict[str, float]:
    """Median ms of each stage of `reader.read`: tokenize (windows), model, decode (spans)."""
    stages: dict[str, list[float]] = {"tokenize": [], "model": [], "decode": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        clipped = reader._clip_question(question)
        windows = encode_windows(
            reader.tokenizer, [clipped] * len(contexts), contexts, reader.max_length, reader.stride
        )
        t1 = time.perf_counter()
        start, end = reader._logits(windows)
        t2 = time.perf_counter()
        reader._null_scores(windows, start, end)
        reader._decode(windows, start, end, contexts, 10)
        t3 = time.perf_counter()
        stages["tokenize"].append(t1 - t0)
        stages["model"].append(t2 - t1)
        stages["decode"].append(t3 - t2)
    return {k: median_ms(v) for k, v in stages.items()}


def accuracy_rows(
    torch_reader: Reader, onnx_reader: Reader, squad_dir: Path, n: int, threshold: float
) -> list[dict[str, Any]]:
    data = load_squad([squad_dir / LABELLED])
    contexts = {p.id: p.context for p in data.paragraphs}
    questions = [q for q in data.questions if q.title in DEV_ARTICLES]
    questions = questions[:: max(1, len(questions) // n)][:n]
    scores: dict[str, dict[str, float]] = {}
    same = 0
    tops: dict[str, list[tuple[str, float]]] = {}
    for name, reader in (("torch", torch_reader), ("int8", onnx_reader)):
        tops[name] = []
        for q in questions:
            spans = reader.read(q.question, [contexts[q.paragraph_id]], n_best=1).spans
            tops[name].append((spans[0].text, spans[0].score) if spans else ("", float("-inf")))
        answerable = [(t, q) for t, q in zip(tops[name], questions) if q.has_answer]
        scores[name] = {
            "has_f1": 100 * statistics.mean(f1(t[0], q.answers) for t, q in answerable) if answerable else float("nan"),
            "f1": 100
            * statistics.mean(f1(t[0] if t[1] >= threshold else "", q.answers) for t, q in zip(tops[name], questions)),
        }
    same = sum(a[0] == b[0] for a, b in zip(tops["torch"], tops["int8"]))
    note = f"{len(questions)} dev questions; same top span {100 * same / len(questions):.0f}%"
    return [
        row(
            "ONNX int8 reader accuracy",
            "has-answer F1 (gold paragraph)",
            scores["torch"]["has_f1"],
            scores["int8"]["has_f1"],
            "F1",
            True,
            note,
        ),
        row(
            "ONNX int8 reader accuracy",
            f"F1, no-answer threshold {threshold}",
            scores["torch"]["f1"],
            scores["int8"]["f1"],
            "F1",
            True,
            note,
        ),
    ]


def markdown(result: dict[str, Any]) -> str:
    """The rows as a Markdown table (README performance section)."""
    lines = ["| lever | metric | before | after | change | kept |", "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(
            f"| {r['lever']} | {r['metric']} | {r['before']:.2f} | {r['after']:.2f} | {r['change']} {('(' + r['note'] + ')') if r['note'] else ''} | {'yes' if r['kept'] else 'no'} |"
        )
    lines += [
        "",
        "| read stage, ms | " + " | ".join(result["profile"]) + " |",
        "|---|" + "---|" * len(result["profile"]),
    ]
    stages = sorted({k for v in result["profile"].values() for k in v})
    for s in stages:
        lines.append(
            f"| {s} | " + " | ".join(f"{v.get(s, float('nan')):.1f}" for v in result["profile"].values()) + " |"
        )
    return "\n".join(lines)
