"""`spanqa eval` end to end on a tiny SQuAD-format file written here: real models, real index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from qa.eval.cli import eval_command
from qa.eval.misses import MISS_CLASSES
from qa.eval.runner import fresh_index_dir, load_records, select_questions
from qa.eval.squad import load_squad

PARAGRAPHS = {
    "Rhine": [
        "The Rhine is a European river that begins in the Swiss canton of Graubünden in the "
        "southeastern Swiss Alps. It flows for about 1,230 kilometres and empties into the North "
        "Sea in the Netherlands.",
    ],
    "Golden_Crust": [
        "Maria Lopez opened the Golden Crust bakery in Lisbon in 1998. The bakery is famous for "
        "its custard tarts, which are baked every morning at five o'clock.",
        "In 2015 the bakery moved to a larger building near the river. It now employs forty "
        "bakers and sells about three thousand tarts a day.",
    ],
    "Voyager_1": [
        "Voyager 1 is a space probe launched by NASA on September 5, 1977. In August 2012 it "
        "became the first spacecraft to enter interstellar space.",
    ],
}

QUESTIONS = {  # (article, paragraph index): [(id, question, answer or None)]
    ("Rhine", 0): [("q-rhine-sea", "Into which sea does the Rhine flow?", "North Sea")],
    ("Golden_Crust", 0): [
        ("q-bakery-who", "Who opened the Golden Crust bakery?", "Maria Lopez"),
        ("q-bakery-when", "In which year was the Golden Crust bakery opened?", "1998"),
    ],
    ("Golden_Crust", 1): [("q-bakers", "How many bakers does the bakery employ?", "forty")],
    ("Voyager_1", 0): [
        ("q-voyager-launch", "When was Voyager 1 launched?", "September 5, 1977"),
        ("q-voyager-cost", "How much money did the Voyager 1 probe cost to build?", None),
    ],
}

DISTRACTORS = {
    "Photosynthesis": [
        "Photosynthesis is the process by which green plants use sunlight to turn carbon "
        "dioxide and water into glucose and oxygen.",
    ],
    "Chess": ["Chess is a board game for two players played on a board of sixty-four squares."],
}


def squad_json(paragraphs: dict[str, list[str]], questions: dict | None) -> dict:
    articles = []
    for title, contexts in paragraphs.items():
        paras = []
        for i, context in enumerate(contexts):
            para: dict = {"context": context}
            if questions is not None:
                para["qas"] = [
                    {
                        "id": qid,
                        "question": q,
                        "answers": [] if a is None else [{"text": a, "answer_start": context.index(a)}],
                        "is_impossible": a is None,
                    }
                    for qid, q, a in questions.get((title, i), [])
                ]
            paras.append(para)
        articles.append({"title": title, "paragraphs": paras})
    return {"version": "v2.0", "data": articles}


@pytest.fixture(scope="module")
def squad_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("squad")
    data = folder / "tiny.json"
    corpus = folder / "distractors.json"
    data.write_text(json.dumps(squad_json(PARAGRAPHS, QUESTIONS)), encoding="utf-8")
    corpus.write_text(json.dumps(squad_json(DISTRACTORS, None)), encoding="utf-8")
    return data, corpus


@pytest.fixture(scope="module")
def eval_out(squad_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs the `spanqa eval` command once (all articles but the Rhine's asked)."""
    data, corpus = squad_files
    out = tmp_path_factory.mktemp("eval-out")
    app = typer.Typer()
    app.command("eval")(eval_command)
    app.command("noop")(lambda: None)  # two commands, so `eval` is addressed by name as in spanqa
    result = CliRunner().invoke(
        app,
        ["eval", str(data), "--corpus", str(corpus), "--articles", "Golden_Crust,Voyager_1", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "spanqa evaluation" in result.output  # the headline table was printed
    return out


def test_writes_the_three_outputs(eval_out: Path) -> None:
    for name in ("report.json", "predictions.jsonl", "report.html"):
        assert (eval_out / name).stat().st_size > 0


def test_report_json_has_sane_numbers(eval_out: Path) -> None:
    report = json.loads((eval_out / "report.json").read_text())
    # Only the selected articles' questions were asked, every paragraph of both files indexed.
    assert report["questions"] == {"total": 5, "has_answer": 4, "no_answer": 1}
    assert report["ingest"]["documents"] == 6
    assert report["config"]["index"]["documents"] == 6
    for side in ("end_to_end", "oracle"):
        scores = report[side]
        assert 0 <= scores["exact"] <= scores["f1"] <= 100
        assert scores["has_answer_total"] == 4 and scores["no_answer_total"] == 1
    # Easy questions over six short paragraphs: the reader on the gold paragraph gets most.
    assert report["oracle"]["has_answer_f1"] >= 75
    assert report["end_to_end"]["has_answer_f1"] >= 50
    recall = report["retrieval"]["recall_at"]
    assert 0 < recall["1"] <= recall["5"] <= recall["10"] <= recall["20"] == 1.0  # 6 docs < 20
    assert 0 < report["retrieval"]["mrr"] <= 1
    na = report["no_answer"]
    assert na["end_to_end"]["actual"] == 1
    best = na["best_threshold"]["end_to_end_best_score"]
    assert best["f1"] >= report["end_to_end"]["f1"] - 1e-9  # the best threshold is at least as good
    for stage in ("embed", "search", "read", "total"):
        lat = report["latency_ms"][stage]
        assert 0 <= lat["p50"] <= lat["p95"]
    assert report["latency_ms"]["total"]["p50"] >= report["latency_ms"]["read"]["p50"]
    assert report["throughput"]["questions_per_s"] > 0
    assert sum(report["failures"].values()) == 5
    assert set(report["failures"]) <= {"right", *MISS_CLASSES}
    cal = report["calibration"]
    assert 0 <= cal["right_rate"] <= 1
    assert cal["ece"] is None or 0 <= cal["ece"] <= 1
    assert sum(b["count"] for b in cal["reliability"]) in (0, 5)
    curve = report["threshold_curve"]
    assert len(curve) > 1 and curve == sorted(curve, key=lambda p: p["threshold"])
    assert max(p["f1"] for p in curve) <= best["f1"] + 1e-9  # no grid point beats the best threshold


def test_predictions_cite_their_paragraphs(eval_out: Path, squad_files: tuple[Path, Path]) -> None:
    records = load_records(eval_out / "predictions.jsonl")
    assert [r["id"] for r in records] == [
        "q-bakery-who",
        "q-bakery-when",
        "q-bakers",
        "q-voyager-launch",
        "q-voyager-cost",
    ]
    contexts = {p.id: p.context for p in load_squad(squad_files).paragraphs}
    for r in records:
        assert set(r) >= {"question", "gold_answers", "prediction", "citation", "best_score", "miss", "confidence"}
        assert r["miss"] is None or r["miss"] in MISS_CLASSES
        assert r["confidence"] is None or 0 <= r["confidence"] <= 1
        if r["prediction"]:
            c = r["citation"]
            # The promise, through the whole evaluation: the cited document slices to the answer.
            assert contexts[c["doc_id"]][c["start"] : c["end"]] == r["prediction"]
        else:
            assert r["citation"] is None
        if r["exact"] == 1.0:
            assert r["miss"] is None
        elif not r["has_answer"]:
            assert r["miss"] == "answered-unanswerable"
        elif not r["prediction"]:
            assert r["miss"] in ("retrieval", "abstained")
    unanswerable = next(r for r in records if r["id"] == "q-voyager-cost")
    assert unanswerable["gold_answers"] == [] and unanswerable["has_answer"] is False
    who = next(r for r in records if r["id"] == "q-bakery-who")
    assert who["paragraph_id"] == "Golden_Crust-0"
    assert who["gold_rank"] == 1
    assert who["oracle_prediction"] == "Maria Lopez"


def test_report_html_is_a_page_with_embedded_plots(eval_out: Path) -> None:
    page = (eval_out / "report.html").read_text()
    assert page.startswith("<!doctype html>")
    assert page.count('src="data:image/png;base64,') == 5  # with the reliability diagram
    assert "Where questions are lost" in page and "Reliability" in page
    assert "http://" not in page and "https://" not in page  # readable offline


def test_unknown_article_is_a_clear_error(squad_files: tuple[Path, Path]) -> None:
    data = load_squad([squad_files[0]])
    with pytest.raises(ValueError, match="unknown article.*Atlantis"):
        select_questions(data, ["Atlantis"], None)
    assert [q.id for q in select_questions(data, ["Voyager_1"], 1)] == ["q-voyager-launch"]


def test_only_removes_an_index_folder_it_made(tmp_path: Path) -> None:
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "store.py").write_text("not ours")
    with pytest.raises(ValueError, match="not made by spanqa eval"):
        fresh_index_dir(tmp_path)
    assert (tmp_path / "index" / "store.py").read_text() == "not ours"

    first = fresh_index_dir(tmp_path / "out")
    (first / "old.faiss").write_text("from the last run")
    second = fresh_index_dir(tmp_path / "out")
    assert second == first and not (second / "old.faiss").exists()
