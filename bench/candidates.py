"""Dumps retrieval + per-passage reader candidates of the dev split once, for offline tuning.

    python -m bench.candidates --index eval-cache/index --out eval-cache/v1.json [--reader PATH]

For every dev question: the top-k passages (text, offsets, retrieval scores, whether the pipeline
would read it), each passage's reader spans (n-best 20) and null score read on its own, and the
reader on the gold paragraph. Answer selection and calibration (qa.selection, qa.calibration) can
then be tried on the file in seconds instead of a full `make eval` per change. The index is
reused when the folder exists (it does not depend on the reader).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from bench.corpus import DEV_ARTICLES, SQUAD_DIR
from qa.eval.squad import load_squad
from qa.pipeline import NewDocument, Pipeline, passages_to_read
from qa.settings import Settings

DATA = SQUAD_DIR / "squad-v2-dev-16-articles.json"
CORPUS = SQUAD_DIR / "squad-v2-dev-20-articles-contexts.json"
BATCH = 16


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--reader", default=None)
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--n-best", type=int, default=20)
    args = parser.parse_args()

    update: dict = {"data_dir": args.index}
    if args.reader:
        update["reader_model"] = args.reader
    settings = Settings().model_copy(update=update)
    data = load_squad([DATA])
    corpus = load_squad([DATA, CORPUS], with_questions=False)
    questions = [q for q in data.questions if q.title in set(DEV_ARTICLES)]
    contexts = {p.id: p.context for p in corpus.paragraphs}
    fresh = not args.index.exists()
    pipeline = Pipeline.from_settings(settings)
    try:
        if fresh:
            docs = [
                NewDocument(text=p.context, title=p.title, id=p.id, metadata={"article": p.title}, source=p.source)
                for p in corpus.paragraphs
            ]
            pipeline.ingest_many(docs)
        rows = []
        for b in range(0, len(questions), BATCH):
            batch = questions[b : b + BATCH]
            found = [pipeline.retrieve(q.question, top_k=args.top_k) for q in batch]
            flat_q = [q.question for q, ps in zip(batch, found) for _ in ps]
            flat_c = [[p.text] for ps in found for p in ps]
            readings = pipeline.read_batch(flat_q, flat_c, n_best=args.n_best)
            gold = pipeline.read_batch(
                [q.question for q in batch], [[contexts[q.paragraph_id]] for q in batch], n_best=args.n_best
            )
            it = iter(readings)
            for q, ps, g in zip(batch, found, gold):
                read = set(
                    passages_to_read(ps, settings.reader_min_score_ratio, settings.rerank_read_margin) if ps else []
                )
                passages = []
                for i, p in enumerate(ps):
                    r = next(it)
                    passages.append(
                        {
                            "doc_id": p.doc_id,
                            "start": p.start,
                            "end": p.end,
                            "text": p.text,
                            "score": p.score,
                            "scores": p.scores,
                            "ranks": p.ranks,
                            "read": i in read,
                            "null": r.null_score,
                            "spans": [asdict(s) for s in r.spans],
                        }
                    )
                rows.append(
                    {
                        "id": q.id,
                        "question": q.question,
                        "article": q.title,
                        "paragraph_id": q.paragraph_id,
                        "answers": q.answers,
                        "has_answer": q.has_answer,
                        "passages": passages,
                        "gold": {"null": g.null_score, "spans": [asdict(s) for s in g.spans]},
                    }
                )
            print(f"{len(rows)}/{len(questions)}", flush=True)
    finally:
        pipeline.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"reader": settings.reader_model, "rows": rows}), encoding="utf-8")


if __name__ == "__main__":
    main()
