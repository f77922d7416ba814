"""`spanqa reader promote`: score a trained reader against the active one, switch only if it is better.

Both readers read each dev question against its own (gold) paragraph with the product's reader
(`qa.reader.Reader`, the server's window, stride, backend and decoding) and are scored by
`train.dev_scores.evaluate_reader`, the dev scoring of training. The rule: the candidate is
promoted when its overall F1 at the best null threshold (SQuAD 2.0, answerable and unanswerable
questions together) is above the active reader's by more than `min_gain` points. The choice is
recorded with `qa.reader_choice`; the server loads it on its next start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa.reader import Reader
from qa.reader_choice import ReaderChoice, read_choice, record_choice
from qa.settings import Settings
from train.data import SquadQuestion, read_squad, sample_questions, select_articles
from train.dev_scores import DevScores, evaluate_reader

DEFAULT_DEV_FILE = Path(__file__).resolve().parents[1].parent / "shared/data/squad/squad-v2-dev-16-articles.json"
DEFAULT_DEV_ARTICLES = ("Normans", "Packet_switching", "Warsaw")


def rule_text(min_gain: float) -> str:
    return f"promote when the candidate's overall F1 (best null threshold) exceeds the active reader's by more than {min_gain:g} points"


@dataclass(frozen=True)
class DevSet:
    """The questions both readers are scored on, and where they came from."""

    questions: list[SquadQuestion]
    files: list[str]
    articles: list[str]
    skipped_bad: list[str]  # ids of questions whose answer offsets do not match their context

    def describe(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "articles": self.articles,
            "questions": len(self.questions),
            "answerable": sum(q.is_answerable for q in self.questions),
            "skipped_bad": self.skipped_bad,
        }


def load_dev_set(dev_file: Path, articles: list[str], feedback: list[Path], limit: int = 0, seed: int = 0) -> DevSet:
    """The dev file's questions (of `articles`, when given) plus every question of the feedback
    files, each id once, then at most `limit` of them drawn at random (0 = all)."""
    read = read_squad(dev_file)
    questions = select_articles(read.questions, articles) if articles else list(read.questions)
    skipped = [b.id for b in read.bad if not articles or b.title in articles]
    for path in feedback:
        extra = read_squad(path)
        questions.extend(extra.questions)
        skipped.extend(b.id for b in extra.bad)
    unique = list({q.id: q for q in reversed(questions)}.values())[::-1]  # the first of each id
    if not unique:
        raise ValueError("no dev questions to score on")
    return DevSet(
        questions=sample_questions(unique, limit, seed),
        files=[str(p) for p in [dev_file, *feedback]],
        articles=list(articles),
        skipped_bad=skipped,
    )


@dataclass(frozen=True)
class ReaderOptions:
    """How the server runs its reader (`SPANQA_READER_*`, `SPANQA_BACKEND`, ...)."""

    max_length: int
    stride: int
    batch_size: int
    max_answer_tokens: int
    device: str
    backend: str
    onnx_precision: str
    cache_dir: Path
    threads: int

    @classmethod
    def from_settings(cls, settings: Settings, backend: str | None = None) -> ReaderOptions:
        return cls(
            max_length=settings.reader_max_length,
            stride=settings.reader_stride,
            batch_size=settings.reader_batch_size,
            max_answer_tokens=settings.max_answer_tokens,
            device=settings.device,
            backend=backend or settings.backend,
            onnx_precision=settings.onnx_precision,
            cache_dir=settings.model_cache,
            threads=settings.torch_threads,
        )


def score_reader(model: str, dev: DevSet, options: ReaderOptions) -> DevScores:
    """The reader's dev scores, read the way the server reads."""
    reader = Reader(
        model,
        device=options.device,
        max_length=options.max_length,
        stride=options.stride,
        batch_size=options.batch_size,
        max_answer_tokens=options.max_answer_tokens,
        backend=options.backend,  # type: ignore[arg-type]
        onnx_precision=options.onnx_precision,  # type: ignore[arg-type]
        cache_dir=options.cache_dir,
        threads=options.threads,
    )
    return evaluate_reader(reader, dev.questions, batch_size=max(options.batch_size, 32))


@dataclass(frozen=True)
class Comparison:
    current_path: str
    candidate_path: str
    current: DevScores
    candidate: DevScores
    min_gain: float

    @property
    def gain(self) -> float:
        return self.candidate.f1 - self.current.f1

    @property
    def better(self) -> bool:
        return self.gain > self.min_gain


def check_candidate(candidate: Path, current: str) -> str:
    """The candidate's absolute path; an error when it is no model folder or already active."""
    if not (candidate / "config.json").is_file():
        raise ValueError(f"{candidate} is not a model folder (no config.json); give the --out folder of train-reader")
    path = str(candidate.resolve())
    if Path(current).exists() and Path(current).resolve() == Path(path):
        raise ValueError(f"{path} is already the active reader")
    return path


def train_metrics(candidate: Path) -> dict[str, Any]:
    """The candidate's `train_metrics.json` (empty when it has none)."""
    path = candidate / "train_metrics.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def trained_on(candidate: Path, files: list[Path]) -> list[str]:
    """Those of `files` that the candidate's `train_metrics.json` lists among its training files
    (scores on them are not held out)."""
    listed = train_metrics(candidate).get("train_files") or []
    names = {Path(f["path"]).name for f in listed if f.get("path")}
    return [str(f) for f in files if f.name in names]


def window_mismatch(candidate: Path, options: ReaderOptions) -> str | None:
    """A note when the candidate was trained on other windows than the server reads with."""
    trained = train_metrics(candidate).get("hyperparameters") or {}
    pairs = [
        ("max_length", options.max_length, "SPANQA_READER_MAX_LENGTH"),
        ("stride", options.stride, "SPANQA_READER_STRIDE"),
    ]
    differ = [f"{env}={trained[key]} (now {now})" for key, now, env in pairs if key in trained and trained[key] != now]
    return f"trained with other windows; to serve it as trained set {', '.join(differ)}" if differ else None


def compare(current: str, candidate: str, dev: DevSet, options: ReaderOptions, min_gain: float) -> Comparison:
    return Comparison(
        current_path=current,
        candidate_path=candidate,
        current=score_reader(current, dev, options),
        candidate=score_reader(candidate, dev, options),
        min_gain=min_gain,
    )


def promote(data_dir: Path, comparison: Comparison, dev: DevSet) -> ReaderChoice:
    """Records the candidate as the active reader (call only when `comparison.better`)."""
    if not comparison.better:
        raise ValueError("the candidate is not better than the active reader")
    choice = ReaderChoice(
        path=comparison.candidate_path,
        promoted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        replaced=comparison.current_path,
        rule=rule_text(comparison.min_gain),
        scores={
            "dev": dev.describe(),
            "current": comparison.current.as_dict(),
            "candidate": comparison.candidate.as_dict(),
        },
        previous=read_choice(data_dir),
    )
    record_choice(data_dir, choice)
    return choice
