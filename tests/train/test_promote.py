"""`spanqa reader promote|show|rollback` end to end: tiny real training runs that continue from the
shipped reader, real SQuAD questions, the real CLI, the record in a real data directory.

Feedback comes back as SQuAD 2.0 JSON (`GET /feedback/export`); the file written here has that
shape, with questions of the dev split's Normans article. A reader trained on those very
questions scores higher on them than the shipped one: it is promoted. That is fine for a test of
the rule, not a claim about the reader. Then neither the same weights again (a tie) nor the
shipped reader (worse) may replace it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.reader_choice import active_reader, choice_file, read_choice
from tests.conftest import SHIPPED_READER as SHIPPED
from tests.conftest import spanqa_cli
from train.config import TrainConfig
from train.loop import train_reader
from train.promote import DEFAULT_DEV_ARTICLES, DEFAULT_DEV_FILE, load_dev_set

PARAGRAPHS = (0, 2)  # two short paragraphs of Normans: 13 questions, one 256-token window each


def export_like(path: Path) -> Path:
    """A feedback export of the chosen Normans questions (answered and no-answer ones)."""
    squad = json.loads(DEFAULT_DEV_FILE.read_text(encoding="utf-8"))
    normans = next(a for a in squad["data"] if a["title"] == "Normans")
    paragraphs = []
    for n in PARAGRAPHS:
        paragraph = normans["paragraphs"][n]
        context = paragraph["context"]
        qas = []
        for i, q in enumerate(paragraph["qas"]):
            answers = [{"text": a["text"], "answer_start": a["answer_start"]} for a in q["answers"][:1]]
            qas.append(
                {"id": f"feedback-{n}-{i}", "question": q["question"], "answers": answers, "is_impossible": not answers}
            )
        paragraphs.append({"context": context, "qas": qas})
    path.write_text(json.dumps({"version": "v2.0", "data": [{"title": "Normans", "paragraphs": paragraphs}]}))
    return path


def tiny_run(train_file: Path, out: Path, epochs: int, lr: float) -> Path:
    config = TrainConfig(
        train_files=[train_file],
        out=out,
        base=str(SHIPPED),
        epochs=epochs,
        lr=lr,
        batch_size=13,  # one step per epoch
        warmup=0.0,
        checkpoint_every=0,
        show_progress=False,
    )
    assert train_reader(config).finished
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("promote")
    export = export_like(folder / "feedback-export.json")
    good = tiny_run(export, folder / "good-reader", epochs=2, lr=1e-4)
    same = shutil.copytree(good, folder / "same-weights")
    return {"export": export, "good": good, "same": same}


def test_promote_switches_to_a_better_reader_and_refuses_one_that_is_not(files, reader_record_dir):
    promoted = spanqa_cli("reader", "promote", files["good"], "--dev", files["export"])
    assert promoted.exit_code == 0, promoted.output
    assert "promoted" in promoted.output and "13 questions" in promoted.output
    assert "has-answer EM" in promoted.output and "has-answer F1" in promoted.output
    choice = read_choice(reader_record_dir)
    assert choice is not None and choice.path == str(files["good"].resolve())
    assert choice.replaced == str(SHIPPED) and choice.previous is None
    current, candidate = choice.scores["current"], choice.scores["candidate"]
    assert candidate["f1"] > current["f1"]
    assert f"{candidate['f1']:.2f}" in promoted.output and f"{current['f1']:.2f}" in promoted.output
    assert choice.scores["dev"]["questions"] == 13
    assert active_reader(reader_record_dir, str(SHIPPED)) == choice.path

    shown = spanqa_cli("reader", "show")
    assert shown.exit_code == 0 and choice.path in shown.output and "promoted" in shown.output

    tie = spanqa_cli("reader", "promote", files["same"], "--dev", files["export"])  # not better: equal
    assert tie.exit_code == 1, tie.output
    assert "refused" in tie.output and "+0.00" in tie.output
    worse = spanqa_cli("reader", "promote", SHIPPED, "--dev", files["export"])
    assert worse.exit_code == 1, worse.output
    assert "refused" in worse.output and f"{current['f1']:.2f} vs {candidate['f1']:.2f}" in worse.output
    assert read_choice(reader_record_dir) == choice  # unchanged by the refusals

    rolled = spanqa_cli("reader", "rollback")
    assert rolled.exit_code == 0 and str(SHIPPED) in rolled.output
    assert not choice_file(reader_record_dir).exists()
    assert active_reader(reader_record_dir, str(SHIPPED)) == str(SHIPPED)
    nothing = spanqa_cli("reader", "rollback")
    assert nothing.exit_code == 2 and "no promoted reader" in nothing.output


def test_promote_refuses_what_is_not_a_model_folder(files, reader_record_dir, tmp_path):
    result = spanqa_cli("reader", "promote", tmp_path, "--dev", files["export"])
    assert result.exit_code == 2 and "not a model folder" in result.output
    same = spanqa_cli("reader", "promote", SHIPPED, "--dev", files["export"])
    assert same.exit_code == 2 and "already the active reader" in same.output


def test_the_default_dev_set_is_the_shared_dev_split_plus_feedback(files):
    dev = load_dev_set(DEFAULT_DEV_FILE, list(DEFAULT_DEV_ARTICLES), [files["export"]])
    described = dev.describe()
    assert described["questions"] == 1067 + 13  # the dev split (as in the readers' train_metrics) + feedback
    assert {q.title for q in dev.questions} == set(DEFAULT_DEV_ARTICLES)
    assert len(load_dev_set(DEFAULT_DEV_FILE, list(DEFAULT_DEV_ARTICLES), [], limit=50).questions) == 50
