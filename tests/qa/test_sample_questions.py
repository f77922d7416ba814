"""End to end on the sample article: plain questions a person would ask, real models and the real
pipeline (the product's default settings). At least 90% must be right (token F1 >= 0.5 against an
answer a person accepts) and every off-topic question must get "no answer"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.eval.metrics import f1
from qa.pipeline import AskResult, Pipeline
from qa.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((Path(__file__).parent / "sample_questions.json").read_text(encoding="utf-8"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    settings = Settings(_env_file=None).model_copy(update={"data_dir": tmp_path_factory.mktemp("data")})
    pipeline = Pipeline.from_settings(settings)
    pipeline.ingest_path(REPO / SAMPLE["document"])
    yield pipeline
    pipeline.close()


def test_the_sample_set_is_big_enough() -> None:
    assert len(SAMPLE["answerable"]) >= 20 and len(SAMPLE["off_topic"]) >= 5


def test_at_least_90_percent_right(pipeline: Pipeline) -> None:
    results: list[tuple[str, AskResult]] = [(q["question"], pipeline.ask(q["question"])) for q in SAMPLE["answerable"]]
    wrong = []
    for item, (question, result) in zip(SAMPLE["answerable"], results):
        answer = result.answers[0].text if result.answers else ""
        if f1(answer, item["answers"]) < 0.5:
            wrong.append(f"{question!r}: {answer!r} (want {item['answers'][0]!r})")
        if result.answers:
            assert 0 <= result.answers[0].confidence <= 1
    right = len(results) - len(wrong)
    assert right >= 0.9 * len(results), f"{right}/{len(results)} right; wrong: " + "; ".join(wrong)


def test_every_off_topic_question_gets_no_answer(pipeline: Pipeline) -> None:
    answered = {}
    for question in SAMPLE["off_topic"]:
        result = pipeline.ask(question)
        if not result.no_answer:
            answered[question] = (result.answers[0].text, round(result.answers[0].confidence, 3))
    assert not answered, answered
