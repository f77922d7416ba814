"""Resumable runs: `OUT/checkpoint/` holds the model, optimizer, scheduler, random states and
`RunState` (step, epoch, position and batch order of the epoch), written atomically."""

from __future__ import annotations

import math
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from train.config import TrainConfig

CHECKPOINT = "checkpoint"
STATE_FILE = "training_state.pt"


@dataclass
class RunState:
    """What a checkpoint holds besides model/optimizer/scheduler weights."""

    step: int = 0
    epoch: int = 0  # the epoch in progress (0-based)
    batch: int = 0  # batches of that epoch already done
    plan: list[list[int]] | None = None  # that epoch's batches (window indices)
    epoch_losses: list[float] = field(default_factory=list)  # losses of the epoch so far
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per finished epoch
    best_f1: float = -math.inf
    best_epoch: int | None = None
    train_seconds: float = 0.0  # time spent on optimizer steps, over all sessions
    windows_seen: int = 0
    resumed_at: list[int] = field(default_factory=list)


def save_checkpoint(out: Path, model, tokenizer, optimizer, scheduler, state: RunState, config: TrainConfig) -> None:
    """Writes OUT/checkpoint atomically (a new folder renamed into place)."""
    final = out / CHECKPOINT
    tmp = out / f"{CHECKPOINT}.new"
    old = out / f"{CHECKPOINT}.old"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp / "model")
    tokenizer.save_pretrained(tmp / "model")
    rng = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    torch.save(
        {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": rng,
            "state": asdict(state),
            "config": config.identity(),
        },
        tmp / STATE_FILE,
    )
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def find_checkpoint(out: Path) -> Path | None:
    for name in (CHECKPOINT, f"{CHECKPOINT}.old"):  # .old: stopped between the two renames
        if (out / name / STATE_FILE).is_file():
            return out / name
    return None


def load_checkpoint(path: Path, config: TrainConfig) -> dict[str, Any]:
    saved = torch.load(path / STATE_FILE, map_location="cpu", weights_only=False)
    mine = config.identity()
    diff = {k: (saved["config"].get(k), v) for k, v in mine.items() if saved["config"].get(k) != v}
    if diff:
        listing = "; ".join(f"{k}: checkpoint {a!r}, now {b!r}" for k, (a, b) in diff.items())
        raise ValueError(f"--resume needs the options of the interrupted run ({listing})")
    return saved


def restore_rng(rng: dict[str, Any]) -> None:
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if rng.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])


def prepare_output(config: TrainConfig) -> Path | None:
    """Checks `config.out` before a run: returns the checkpoint to resume from, or None for a fresh
    run (replacing a finished model folder only with `overwrite`)."""
    out = config.out
    checkpoint = find_checkpoint(out)
    if checkpoint is not None and not config.resume:
        raise ValueError(f"{out} holds an unfinished run ({checkpoint}); pass --resume, or choose another --out")
    if config.resume and checkpoint is None:
        raise ValueError(f"--resume: no checkpoint in {out}")
    if checkpoint is None and out.is_dir() and any(out.iterdir()):
        if not config.overwrite:
            raise ValueError(f"{out} is not empty; choose another --out, or pass --overwrite to replace it")
        if not ((out / "config.json").is_file() or (out / "train_metrics.json").is_file()):
            raise ValueError(f"--overwrite: {out} does not look like a model folder; not deleting it")
        shutil.rmtree(out)
    return checkpoint
