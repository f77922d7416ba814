"""The calibrator: fitted, saved as JSON, loaded only for its own reader + embedder; ECE."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from qa import calibration


def synthetic(n: int = 400, seed: int = 0) -> tuple[list[dict[str, float]], list[int]]:
    """Right answers score higher: a score feature that predicts the label through a sigmoid."""
    rng = random.Random(seed)
    rows, labels = [], []
    for _ in range(n):
        score = rng.uniform(-4, 12)
        p = 1 / (1 + pow(2.718281828, -(score - 6)))
        rows.append({"score": score, "gap_next": rng.uniform(0, 3)})
        labels.append(int(rng.random() < p))
    return rows, labels


def test_fit_is_calibrated_on_held_out_data_and_round_trips(tmp_path: Path) -> None:
    rows, labels = synthetic()
    cal = calibration.fit(rows, labels, reader="r", embedder="e", features=("score", "gap_next"))
    test_rows, test_labels = synthetic(seed=1)
    probs = [cal.probability(r) for r in test_rows]
    assert calibration.expected_calibration_error(probs, test_labels) < 0.08
    assert cal.probability({"score": 11, "gap_next": 1}) > 0.9 > 0.1 > cal.probability({"score": 0, "gap_next": 1})

    path = tmp_path / calibration.CALIBRATION_FILE
    calibration.save(cal, path)
    assert json.loads(path.read_text())["reader"] == "r"  # plain JSON, no pickle
    assert calibration.load(path) == cal


def test_found_only_for_its_own_models(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows, labels = synthetic()
    calibration.save(calibration.fit(rows, labels, reader="my-reader", embedder="e"), tmp_path / "calibration.json")
    assert calibration.find_calibrator(tmp_path, "my-reader", "e") is not None
    assert calibration.find_calibrator(tmp_path, "other-reader", "e") is None
    assert "fitted for reader 'my-reader'" in caplog.text


def test_reliability_bins_and_ece() -> None:
    bins = calibration.reliability([0.05, 0.15, 0.95, 1.0], [0, 0, 1, 1])
    assert len(bins) == 10 and [b.count for b in bins] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert calibration.expected_calibration_error([0.9, 0.9], [1, 0]) == pytest.approx(0.4)
    with pytest.raises(ValueError):
        calibration.fit([{"score": 1.0}], [1], reader="r", embedder="e")
