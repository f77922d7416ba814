"""What a finished (or stopped) training run reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class TrainResult:
    out: Path
    finished: bool  # False when stopped by --max-steps (resume with --resume)
    step: int
    total_steps: int
    epochs: list[dict[str, Any]]
    best_epoch: int | None
    train_seconds: float
    windows_per_second: float
