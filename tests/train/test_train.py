"""`spanqa train-reader`: real training steps on a tiny SQuAD file written here, on CPU.

The base is the packaged all-MiniLM-L6-v2 encoder (a new span head), windows are short so a few
dozen steps take seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from safetensors.torch import load_file
from transformers import AutoTokenizer
from typer.testing import CliRunner

from qa.reader import Reader
from qa.settings import Settings
from train.checkpoints import CHECKPOINT, STATE_FILE
from train.command import train_reader_command
from train.config import TrainConfig, default_base_model
from train.data import BadQuestionsError, read_squad
from train.features import build_features, cap_windows, collate, length_grouped_batches
from train.loop import train_reader

PARAGRAPHS = [
    (
        "Eiffel_Tower",
        "The Eiffel Tower was completed in 1889 in Paris. It was designed by the engineering "
        "company of Gustave Eiffel and is 330 metres tall.",
        [
            ("eiffel-year", "When was the Eiffel Tower completed?", "1889"),
            ("eiffel-designer", "Whose company designed the Eiffel Tower?", "Gustave Eiffel"),
            ("eiffel-none", "What is the capital of Peru?", None),
        ],
    ),
    (
        "Marie_Curie",
        "Marie Curie won the Nobel Prize in Physics in 1903 and the Nobel Prize in Chemistry in "
        "1911. She was born in Warsaw and worked in Paris.",
        [
            ("curie-born", "Where was Marie Curie born?", "Warsaw"),
            ("curie-chemistry", "In which year did Curie win the Nobel Prize in Chemistry?", "1911"),
            ("curie-none", "Who painted the Mona Lisa?", None),
        ],
    ),
    (
        "Amazon",
        "The Amazon river flows through Brazil, Peru and Colombia. It carries more water than "
        "any other river on Earth.",
        [
            ("amazon-water", "Which river carries more water than any other?", "The Amazon river"),
            ("amazon-countries", "Which country is listed first for the Amazon?", "Brazil"),
        ],
    ),
]
DEV_PARAGRAPHS = [
    (
        "Nile",
        "The Nile flows north through eleven countries and empties into the Mediterranean Sea.",
        [
            ("nile-sea", "Into which sea does the Nile empty?", "the Mediterranean Sea"),
            ("nile-none", "When was the telephone invented?", None),
        ],
    )
]
# A long paragraph: with 96-token windows it spans several, only some holding the answer.
LONG_CONTEXT = " ".join(f"Sentence number {i} talks about nothing in particular." for i in range(40)) + (
    " The treasure is buried under the old oak tree."
)


def squad_json(paragraphs, misaligned: set[str] = frozenset()) -> dict:
    articles = []
    for title, context, questions in paragraphs:
        qas = []
        for qid, question, answer in questions:
            if answer is None:
                qas.append({"id": qid, "question": question, "answers": [], "is_impossible": True})
                continue
            start = context.index(answer) + (3 if qid in misaligned else 0)
            qas.append(
                {
                    "id": qid,
                    "question": question,
                    "answers": [{"text": answer, "answer_start": start}],
                    "is_impossible": False,
                }
            )
        articles.append({"title": title, "paragraphs": [{"context": context, "qas": qas}]})
    return {"version": "v2.0", "data": articles}


def write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("train-data")
    write(folder / "train.json", squad_json(PARAGRAPHS))
    write(folder / "dev.json", squad_json(DEV_PARAGRAPHS))
    return folder


def tiny_config(data_dir: Path, out: Path, **overrides) -> TrainConfig:
    options = dict(
        train_files=[data_dir / "train.json"],
        out=out,
        epochs=2,
        lr=3e-4,
        batch_size=4,
        max_length=96,
        stride=16,
        warmup=0.0,
        threads=1,
        checkpoint_every=2,
        show_progress=False,
    )
    options.update(overrides)
    return TrainConfig(**options)


def cli(*args: str):
    app = typer.Typer()
    app.command()(train_reader_command)
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(data_dir, tmp_path_factory) -> Path:
    """Overfits the 8 training questions (1 step per epoch x 30 epochs); no dev: the last epoch is kept."""
    out = tmp_path_factory.mktemp("runs") / "reader"
    config = tiny_config(data_dir, out, epochs=30, lr=5e-4, batch_size=8, checkpoint_every=0)
    result = train_reader(config)
    assert result.finished
    return out


# ---------------------------------------------------------------- data


def test_features_point_at_the_answer_tokens_or_at_cls(tmp_path):
    paragraphs = [
        *PARAGRAPHS,
        ("Oak", LONG_CONTEXT, [("oak", "Where is the treasure buried?", "under the old oak tree")]),
    ]
    questions = read_squad(write(tmp_path / "t.json", squad_json(paragraphs))).questions
    tokenizer = AutoTokenizer.from_pretrained(default_base_model())
    features = build_features(tokenizer, questions, max_length=96, stride=16)

    oak = next(i for i, q in enumerate(questions) if q.id == "oak")
    oak_windows = np.flatnonzero(features.question_index == oak)
    assert len(oak_windows) > 2  # the long paragraph needs several windows
    assert np.count_nonzero(features.start[oak_windows]) >= 1  # the answer is in the last one(s) ...
    assert features.start[oak_windows[0]] == features.end[oak_windows[0]] == 0  # ... not in the first: [CLS]
    for w in range(len(features)):
        question = questions[features.question_index[w]]
        if not question.is_answerable:
            assert features.start[w] == features.end[w] == 0
        elif features.start[w]:
            tokens = features.input_ids[w][features.start[w] : features.end[w] + 1]
            assert tokenizer.decode(tokens) == question.answers[0].text.lower()
    assert all(features.input_ids[w][0] == tokenizer.cls_token_id for w in range(len(features)))

    capped = cap_windows(features, 2, np.random.default_rng(0))
    capped_oak = np.flatnonzero(capped.question_index == oak)
    assert len(capped_oak) == 2 and np.count_nonzero(capped.start[capped_oak]) >= 1


def test_batches_cover_every_window_once_and_trim_padding():
    lengths = np.array([10, 50, 12, 48, 11, 49, 30, 31, 29])
    batches = length_grouped_batches(lengths, 3, np.random.default_rng(0), group_batches=3)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(max(lengths[b]) - min(lengths[b]) <= 2 for b in batches)  # similar lengths together


def test_collate_pads_to_the_longest_window_of_the_batch(data_dir):
    tokenizer = AutoTokenizer.from_pretrained(default_base_model())
    questions = read_squad(data_dir / "train.json").questions
    features = build_features(tokenizer, questions, max_length=96, stride=16)
    batch = collate(features, [0, 1], tokenizer.pad_token_id)
    assert batch["input_ids"].shape[1] == max(len(features.input_ids[0]), len(features.input_ids[1]))
    assert batch["attention_mask"].sum().item() == len(features.input_ids[0]) + len(features.input_ids[1])
    assert set(batch) == {"input_ids", "attention_mask", "token_type_ids", "start_positions", "end_positions"}


# ---------------------------------------------------------------- training


def test_loss_goes_down(trained):
    metrics = json.loads((trained / "train_metrics.json").read_text())
    losses = [e["train_loss"] for e in metrics["epochs_run"]]
    assert len(losses) == 30
    assert np.mean(losses[-3:]) < 0.25 * np.mean(losses[:3]), losses


def test_output_is_a_model_folder_with_metrics_and_card(trained):
    names = {p.name for p in trained.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "train_metrics.json", "README.md"} <= names
    assert CHECKPOINT not in names  # removed once the run finished
    metrics = json.loads((trained / "train_metrics.json").read_text())
    assert metrics["train_questions"] == 8 and metrics["steps"] == 30
    assert metrics["train_files"][0]["unanswerable"] == 2
    assert metrics["hyperparameters"]["lr"] == 5e-4 and metrics["hyperparameters"]["max_length"] == 96
    assert metrics["best_epoch"] is None and "n" not in metrics  # no dev set
    assert metrics["windows_per_second"] > 0 and metrics["machine"]["torch_threads"] == 1
    card = (trained / "README.md").read_text()
    assert "SPANQA_READER_MODEL=" in card and "train.json" in card and "No dev set" in card


def test_saved_model_loads_through_settings_and_reads(trained, monkeypatch):
    monkeypatch.setenv("SPANQA_READER_MODEL", str(trained))
    settings = Settings(_env_file=None)
    assert settings.reader_model == str(trained)
    reader = Reader(settings.reader_model, max_length=96, stride=16)
    title, context, questions = PARAGRAPHS[1]
    reading = reader.read("Where was Marie Curie born?", [context])
    best = reading.spans[0]
    assert context[best.start : best.end] == best.text
    assert best.text == "Warsaw"  # a question it was trained on


def test_saved_model_answers_through_the_api(trained, monkeypatch, tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app

    monkeypatch.setenv("SPANQA_READER_MODEL", str(trained))
    monkeypatch.setenv("SPANQA_READER_MAX_LENGTH", "96")
    monkeypatch.setenv("SPANQA_READER_STRIDE", "16")
    monkeypatch.setenv("SPANQA_NO_ANSWER_THRESHOLD", "-100")  # a tiny model: always show its best span
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", allowed_hosts="testserver")
    _, context, _ = PARAGRAPHS[0]
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json()["reader_model"] == str(trained)
        r = client.post("/documents", json={"text": context, "title": "Eiffel", "id": "eiffel"})
        assert r.status_code == 201, r.text
        r = client.post("/ask", json={"question": "When was the Eiffel Tower completed?"})
        assert r.status_code == 200, r.text
        answer = r.json()["answers"][0]
        assert context[answer["start"] : answer["end"]] == answer["text"] == "1889"


def test_resume_continues_from_the_saved_step(data_dir, tmp_path):
    straight = tmp_path / "straight"
    train_reader(tiny_config(data_dir, straight))  # 8 windows / batch 4 x 2 epochs = 4 steps

    resumed = tmp_path / "resumed"
    args = [
        data_dir / "train.json",
        "--out",
        resumed,
        "--epochs",
        "2",
        "--lr",
        "3e-4",
        "--batch-size",
        "4",
        "--max-length",
        "96",
        "--stride",
        "16",
        "--warmup",
        "0",
        "--threads",
        "1",
        "--checkpoint-every",
        "2",
    ]
    first = cli(*args, "--max-steps", "3")
    assert first.exit_code == 0, first.output
    assert "stopped at step 3/4" in first.output
    state = torch.load(resumed / CHECKPOINT / STATE_FILE, weights_only=False)["state"]
    assert (state["step"], state["epoch"], state["batch"]) == (3, 1, 1)
    assert not (resumed / "model.safetensors").exists()

    again = cli(*args)  # without --resume an unfinished run is not overwritten
    assert again.exit_code == 2 and "--resume" in again.output

    changed = cli(*args, "--resume", "--lr", "1e-4")  # nor continued with other options
    assert changed.exit_code == 2 and "lr" in changed.output

    second = cli(*args, "--resume")
    assert second.exit_code == 0, second.output
    assert "resuming at step 3/4" in second.output
    metrics = json.loads((resumed / "train_metrics.json").read_text())
    assert metrics["resumed_at_steps"] == [3] and metrics["steps"] == 4
    finished_again = cli(*args)  # a finished model is not replaced without --overwrite
    assert finished_again.exit_code == 2 and "--overwrite" in finished_again.output
    # The same weights as the run that was never stopped.
    a, b = load_file(straight / "model.safetensors"), load_file(resumed / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_misaligned_answer_is_reported_with_its_question_id(data_dir, tmp_path):
    bad_file = write(tmp_path / "bad.json", squad_json(PARAGRAPHS, misaligned={"curie-born"}))
    read = read_squad(bad_file)
    assert [b.id for b in read.bad] == ["curie-born"]
    assert "curie-born" not in {q.id for q in read.questions}

    with pytest.raises(BadQuestionsError, match="curie-born") as caught:
        train_reader(tiny_config(data_dir, tmp_path / "out", train_files=[bad_file]))
    assert [b.id for b in caught.value.bad] == ["curie-born"]
    assert not (tmp_path / "out" / "model.safetensors").exists()

    refused = cli(bad_file, "--out", tmp_path / "cli-out", "--max-length", "96", "--stride", "16")
    assert refused.exit_code == 2 and "curie-born" in refused.output and "--skip-bad" in refused.output

    skipped = cli(
        bad_file,
        "--out",
        tmp_path / "skip-out",
        "--skip-bad",
        "--epochs",
        "1",
        "--max-length",
        "96",
        "--stride",
        "16",
        "--threads",
        "1",
        "--batch-size",
        "8",
    )
    assert skipped.exit_code == 0, skipped.output
    assert "skipped 1 question(s)" in skipped.output and "curie-born" in skipped.output
    metrics = json.loads((tmp_path / "skip-out" / "train_metrics.json").read_text())
    assert metrics["train_questions"] == 7 and metrics["train_files"][0]["skipped_bad"] == 1


def test_dev_scores_each_epoch_keep_the_best_and_stay_out_of_training(data_dir, tmp_path):
    out = tmp_path / "out"
    result = cli(
        data_dir / "train.json",
        data_dir / "dev.json",
        "--out",
        out,
        "--dev",
        data_dir / "train.json",
        "--dev-articles",
        "Amazon",
        "--epochs",
        "3",
        "--max-length",
        "96",
        "--stride",
        "16",
        "--threads",
        "1",
        "--batch-size",
        "8",
    )
    assert result.exit_code == 0, result.output
    assert "left out 2 question(s)" in result.output  # the Amazon questions of train.json
    epoch_lines = [line for line in result.output.splitlines() if "dev F1" in line]
    assert [line.split(":")[0] for line in epoch_lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    metrics = json.loads((out / "train_metrics.json").read_text())
    assert metrics["train_questions"] == 8 and metrics["n"] == 2 and metrics["n_has"] == 2
    assert [f["excluded_for_dev"] for f in metrics["train_files"]] == [2, 0]
    f1s = [e["dev"]["f1"] for e in metrics["epochs_run"]]
    assert metrics["overall_f1_best_thr"] == max(f1s) == f1s[metrics["best_epoch"] - 1]
    assert "has_ans_em" in metrics and "null_threshold" in metrics
    card = (out / "README.md").read_text()
    assert "Dev scores per epoch" in card and "(kept)" in card and "Amazon" in card

    unknown = cli(
        data_dir / "train.json",
        "--out",
        tmp_path / "x",
        "--dev",
        data_dir / "train.json",
        "--dev-articles",
        "Atlantis",
        "--max-length",
        "96",
        "--stride",
        "16",
    )
    assert unknown.exit_code == 2 and "Atlantis" in unknown.output and "Marie_Curie" in unknown.output
