"""`spanqa calibrate` end to end: the sample article indexed, its labelled questions asked, a
calibrator stamped for the configured models kept in the index's store and used by the next pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from index.store import StoreConfig, open_store
from qa import calibration
from qa.calibration_cli import calibrate_command
from qa.pipeline import Pipeline
from qa.settings import Settings, get_settings

REPO = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((Path(__file__).parent / "sample_questions.json").read_text(encoding="utf-8"))

pytestmark = pytest.mark.slow


def squad_file(path: Path, context: str) -> Path:
    """The sample questions as SQuAD 2.0 (off-topic ones unanswerable), one paragraph: the article."""
    qas = [
        {
            "id": f"a{i}",
            "question": q["question"],
            "answers": [{"text": q["answers"][0], "answer_start": max(context.find(q["answers"][0]), 0)}],
        }
        for i, q in enumerate(SAMPLE["answerable"])
    ] + [
        {"id": f"o{i}", "question": q, "answers": [], "is_impossible": True} for i, q in enumerate(SAMPLE["off_topic"])
    ]
    data = {"version": "v2.0", "data": [{"title": "sample", "paragraphs": [{"context": context, "qas": qas}]}]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_calibrate_writes_a_stamped_calibrator_the_pipeline_uses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SPANQA_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    settings = Settings(_env_file=None).model_copy(update={"data_dir": data_dir})
    pipeline = Pipeline.from_settings(settings)
    document = REPO / SAMPLE["document"]
    pipeline.ingest_path(document)
    pipeline.close()

    app = typer.Typer()
    app.command("calibrate")(calibrate_command)
    app.command("noop")(lambda: None)
    data = squad_file(tmp_path / "labelled.json", document.read_text(encoding="utf-8"))
    result = CliRunner().invoke(app, ["calibrate", str(data)])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "32 questions" in result.output

    assert "kept in the index" in result.output and not (data_dir / calibration.CALIBRATION_FILE).exists()
    store = open_store(StoreConfig(data_dir, 384, "", read_only=True, check_model=False))
    try:
        written = calibration.from_json(store.values.get(calibration.STORE_KEY) or "")
    finally:
        store.close()
    assert written.reader == calibration.reader_identity(settings.reader_model)
    assert written.examples == 32 and written.fitted_on == "labelled.json"
    again = Pipeline.from_settings(settings)
    try:
        assert again.calibrator == written  # the stored one wins over the shipped one
    finally:
        again.close()
