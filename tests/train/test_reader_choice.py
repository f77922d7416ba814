"""The promotion record (`qa.reader_choice`) and the promote rule, on real files without models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.reader_choice import ReaderChoice, active_reader, choice_file, read_choice, record_choice, roll_back
from train.dev_scores import DevScores
from train.promote import Comparison, ReaderOptions, window_mismatch


def model_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    return path


def choice(path: Path, replaced: str, previous: ReaderChoice | None = None) -> ReaderChoice:
    return ReaderChoice(
        path=str(path),
        promoted_at="2026-12-01T14:00:00+00:00",
        replaced=replaced,
        rule="a rule",
        scores={"current": {"f1": 60.0}, "candidate": {"f1": 61.0}, "dev": {"questions": 10}},
        previous=previous,
    )


def scores(f1: float) -> DevScores:
    return DevScores(
        questions=10,
        answerable=5,
        exact=f1,
        f1=f1,
        null_threshold=0.0,
        has_answer_exact=f1,
        has_answer_f1=f1,
        no_answer_exact=f1,
        no_answer_f1=f1,
        span_threshold=0.0,
        span_threshold_f1=f1,
        seconds=0.1,
    )


def test_without_a_record_the_configured_reader_is_active(tmp_path):
    assert read_choice(tmp_path) is None
    assert active_reader(tmp_path, "configured") == "configured"
    with pytest.raises(LookupError, match="no promoted reader"):
        roll_back(tmp_path)


def test_promotions_stack_and_roll_back_one_at_a_time(tmp_path):
    data_dir = tmp_path / "data"
    first, second = model_folder(tmp_path / "first"), model_folder(tmp_path / "second")
    record_choice(data_dir, choice(first, "configured"))
    assert active_reader(data_dir, "configured") == str(first)
    record_choice(data_dir, choice(second, str(first), previous=read_choice(data_dir)))
    assert active_reader(data_dir, "configured") == str(second)
    saved = json.loads(choice_file(data_dir).read_text())
    assert saved["path"] == str(second) and saved["previous"]["path"] == str(first)
    assert read_choice(data_dir) == choice(second, str(first), previous=choice(first, "configured"))

    assert roll_back(data_dir) == choice(first, "configured")
    assert active_reader(data_dir, "configured") == str(first)
    assert roll_back(data_dir) is None
    assert not choice_file(data_dir).exists()
    assert active_reader(data_dir, "configured") == "configured"
    assert [p.name for p in data_dir.iterdir()] == []  # no temporary files left behind


def test_a_promoted_reader_that_is_gone_falls_back_to_the_configured_one(tmp_path):
    record_choice(tmp_path, choice(tmp_path / "deleted-model", "configured"))
    assert active_reader(tmp_path, "configured") == "configured"


def test_an_unreadable_record_is_an_error_naming_the_file(tmp_path):
    choice_file(tmp_path).write_text("{not json")
    with pytest.raises(ValueError, match="reader.json"):
        active_reader(tmp_path, "configured")


@pytest.mark.parametrize(
    ("current", "candidate", "min_gain", "better"),
    [(60.0, 60.5, 0.0, True), (60.0, 60.0, 0.0, False), (60.0, 59.0, 0.0, False), (60.0, 60.5, 1.0, False)],
)
def test_the_rule_is_overall_f1_above_the_active_readers_by_more_than_min_gain(current, candidate, min_gain, better):
    comparison = Comparison("active", "candidate", scores(current), scores(candidate), min_gain)
    assert comparison.better is better
    assert comparison.gain == pytest.approx(candidate - current)


def test_a_candidate_trained_on_other_windows_gets_a_note(tmp_path):
    folder = model_folder(tmp_path / "model")
    options = ReaderOptions(256, 96, 16, 30, "cpu", "torch", "int8", tmp_path, 0)
    assert window_mismatch(folder, options) is None  # no train_metrics.json
    (folder / "train_metrics.json").write_text(json.dumps({"hyperparameters": {"max_length": 96, "stride": 96}}))
    note = window_mismatch(folder, options)
    assert note is not None and "SPANQA_READER_MAX_LENGTH=96 (now 256)" in note and "STRIDE" not in note
