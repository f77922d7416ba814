"""The questions a run trains and scores on: read, checked, dev kept out of training, sampled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from train.config import TrainConfig
from train.data import (
    BadQuestion,
    BadQuestionsError,
    SquadQuestion,
    exclude_overlap,
    read_squad,
    sample_questions,
    select_articles,
)


@dataclass(frozen=True)
class DataFileSummary:
    path: str
    questions: int  # used from this file (after leaving out dev overlap and bad answers)
    answerable: int
    unanswerable: int
    articles: list[str] = field(default_factory=list)  # the dev articles, when chosen
    excluded_for_dev: int = 0
    skipped_bad: int = 0

    @classmethod
    def of(
        cls,
        path: Path,
        questions: Sequence[SquadQuestion],
        *,
        articles: Sequence[str] = (),
        excluded_for_dev: int = 0,
        skipped_bad: int = 0,
    ) -> DataFileSummary:
        answerable = sum(q.is_answerable for q in questions)
        return cls(
            path=str(path),
            questions=len(questions),
            answerable=answerable,
            unanswerable=len(questions) - answerable,
            articles=list(articles),
            excluded_for_dev=excluded_for_dev,
            skipped_bad=skipped_bad,
        )


@dataclass
class TrainingData:
    train: list[SquadQuestion]
    dev: list[SquadQuestion]
    files: list[DataFileSummary]
    dev_summary: DataFileSummary | None


def load_training_data(config: TrainConfig, console: Console) -> TrainingData:
    """Reads and checks the files, keeps dev questions out of training, applies --limit."""
    bad: list[BadQuestion] = []
    dev: list[SquadQuestion] = []
    dev_summary = None
    if config.dev_file is not None:
        dev_read = read_squad(config.dev_file)
        dev = select_articles(dev_read.questions, config.dev_articles) if config.dev_articles else dev_read.questions
        wanted = set(config.dev_articles)
        bad.extend(b for b in dev_read.bad if not wanted or b.title in wanted)
        dev_summary = DataFileSummary.of(config.dev_file, dev, articles=config.dev_articles)
    train: list[SquadQuestion] = []
    files: list[DataFileSummary] = []
    for path in config.train_files:
        read = read_squad(path)
        kept, dropped = exclude_overlap(read.questions, dev) if dev else (read.questions, 0)
        if dropped:
            console.print(f"{path.name}: left out {dropped} question(s) that share a paragraph or id with the dev set")
        bad.extend(read.bad)
        files.append(DataFileSummary.of(path, kept, excluded_for_dev=dropped, skipped_bad=len(read.bad)))
        train.extend(kept)
    bad = list({(b.source, b.id): b for b in bad}.values())
    if bad:
        if not config.skip_bad:
            raise BadQuestionsError(bad)
        console.print(
            f"[yellow]warning:[/yellow] skipped {len(bad)} question(s) whose answers do not match "
            f"their context: {', '.join(b.id for b in bad)}"
        )
    if not train:
        raise ValueError("no training questions left")
    train = sample_questions(train, config.limit, config.seed)
    dev = sample_questions(dev, config.dev_limit, config.seed)
    return TrainingData(train=train, dev=dev, files=files, dev_summary=dev_summary)
