"""Answer selection and calibration tried offline on a `bench.candidates` dump (seconds per try).

    python -m bench.tune_selection eval-cache/v1.json [--all-passages] [--agreement 1] [--null 0.5] [--retrieval 1]

Prints has-answer F1 (answering everything, and with the calibrated no-answer rule at the best
`min_confidence`), no-answer accuracy, the gold-paragraph oracle, and the ECE of calibrators fitted
leave-one-article-out (each article's confidences come from a calibrator that never saw it).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa import calibration
from qa.answers import Passage
from qa.eval.metrics import f1
from qa.reader import Reading, Span
from qa.selection import DEFAULT_RANKING, Candidate, Ranking, candidates


@dataclass
class Row:
    id: str
    article: str
    answers: list[str]
    has_answer: bool
    top: Candidate | None
    text: str
    oracle_text: str
    gold_read: bool


def passages_and_readings(row: dict[str, Any], all_passages: bool) -> tuple[list[Passage], list[Reading]]:
    passages, readings = [], []
    for i, p in enumerate(row["passages"]):
        if not (p["read"] or all_passages):
            continue
        passages.append(
            Passage(0, p["doc_id"], "", p["text"], p["start"], p["end"], None, p["score"], i, p["scores"], p["ranks"])
        )
        readings.append(Reading([Span(**s) for s in p["spans"]], p["null"]))
    return passages, readings


def build_rows(dump: dict[str, Any], all_passages: bool, ranking: Ranking = Ranking()) -> list[Row]:
    rows = []
    for r in dump["rows"]:
        passages, readings = passages_and_readings(r, all_passages)
        found = candidates(passages, readings, ranking=ranking)
        top = found[0] if found else None
        gold = r["gold"]["spans"]
        rows.append(
            Row(
                r["id"],
                r["article"],
                r["answers"],
                r["has_answer"],
                top,
                top.primary.text if top else "",
                gold[0]["text"] if gold else "",
                any(p.doc_id == r["paragraph_id"] for p in passages),
            )
        )
    return rows


def is_right(row: Row) -> int:
    return int(row.has_answer and f1(row.text, row.answers) >= calibration.RIGHT_F1)


def cross_validated(rows: list[Row], c: float) -> list[float]:
    """Each row's confidence from a calibrator fitted on the other articles."""
    probs = [0.0] * len(rows)
    for article in sorted({r.article for r in rows}):
        train = [r for r in rows if r.article != article and r.top]
        cal = calibration.fit(
            [r.top.features for r in train], [is_right(r) for r in train], reader="", embedder="", c=c
        )
        for i, r in enumerate(rows):
            if r.article == article and r.top:
                probs[i] = cal.probability(r.top.features)
    return probs


def scores(rows: list[Row], probs: list[float], min_conf: float) -> dict[str, float]:
    has = [r for r in rows if r.has_answer]
    no = [r for r in rows if not r.has_answer]
    pred = {r.id: (r.text if p >= min_conf else "") for r, p in zip(rows, probs)}
    return {
        "has_f1": 100 * sum(f1(pred[r.id], r.answers) for r in has) / len(has),
        "no_acc": 100 * sum(pred[r.id] == "" for r in no) / len(no),
        "f1": 100 * sum(f1(pred[r.id], r.answers) for r in rows) / len(rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dump", type=Path)
    parser.add_argument("--all-passages", action="store_true")
    parser.add_argument("--agreement", type=float, default=DEFAULT_RANKING.agreement)
    parser.add_argument("--null", type=float, default=DEFAULT_RANKING.null)
    parser.add_argument("--retrieval", type=float, default=DEFAULT_RANKING.retrieval)
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--write", type=Path, default=None, help="fit on every question and save the calibrator here")
    args = parser.parse_args()
    dump = json.loads(args.dump.read_text())
    rows = build_rows(dump, args.all_passages, Ranking(args.agreement, args.null, args.retrieval))
    has = [r for r in rows if r.has_answer]
    print(f"reader {dump['reader']}: {len(rows)} questions, {len(has)} answerable")
    print(f"gold paragraph read: {100 * sum(r.gold_read for r in has) / len(has):.1f}% of answerable")
    print(
        f"oracle has-answer F1 (gold paragraph, answer all): {100 * sum(f1(r.oracle_text, r.answers) for r in has) / len(has):.1f}"
    )
    print(f"end-to-end has-answer F1 (answer all): {100 * sum(f1(r.text, r.answers) for r in has) / len(has):.1f}")
    probs = cross_validated(rows, args.c)
    labels = [is_right(r) for r in rows]
    print(f"ECE (leave one article out): {calibration.expected_calibration_error(probs, labels):.4f}")
    best = max((scores(rows, probs, t / 100)["f1"], t / 100) for t in range(0, 100))
    for t in sorted({best[1], 0.05, 0.1, 0.15, 0.2, 0.3, 0.5}):
        s = scores(rows, probs, t)
        print(
            f"min_confidence {t:.2f}: F1 {s['f1']:.1f}, has-answer F1 {s['has_f1']:.1f}, no-answer acc {s['no_acc']:.1f}"
        )
    # The shipped rule: the best overall F1 among cut-offs that keep has-answer F1 within 3 points of
    # answering everything (the best F1 alone would refuse almost every SQuAD 2.0 question).
    answer_all = scores(rows, [1.0] * len(rows), 0.0)["has_f1"]
    allowed = [t / 100 for t in range(100) if scores(rows, probs, t / 100)["has_f1"] >= answer_all - 3]
    chosen = max(allowed, key=lambda t: scores(rows, probs, t)["f1"])
    s = scores(rows, probs, chosen)
    print(f"chosen {chosen:.2f}: F1 {s['f1']:.1f}, has-answer F1 {s['has_f1']:.1f}, no-answer acc {s['no_acc']:.1f}")
    if args.write:
        from index.embedder import model_identity
        from qa.settings import default_embedding_model

        fitted = calibration.fit(
            [r.top.features for r in rows if r.top],
            [is_right(r) for r in rows if r.top],
            reader=calibration.reader_identity(dump["reader"]),
            embedder=model_identity(default_embedding_model()),
            fitted_on="SQuAD 2.0 dev split (Normans, Packet_switching, Warsaw; 20 articles indexed), bench.candidates",
            c=args.c,
        )
        calibration.save(fitted, args.write)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
