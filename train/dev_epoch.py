"""The end of an epoch: score the model on dev with the serving reader, keep it if it is the best."""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import Progress
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from qa.reader import Reader
from train.checkpoints import CHECKPOINT, RunState
from train.config import TrainConfig
from train.dataset import TrainingData
from train.dev_scores import DevScores, evaluate_reader


def finish_epoch(
    config: TrainConfig,
    data: TrainingData,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    state: RunState,
    device: torch.device,
    console: Console,
    progress: Progress,
) -> None:
    """Scores the epoch's model on dev with the serving reader; keeps it in OUT if it is the best."""
    entry: dict[str, Any] = {
        "epoch": state.epoch + 1,
        "step": state.step,
        "train_loss": float(np.mean(state.epoch_losses)) if state.epoch_losses else None,
    }
    if data.dev:
        folder = config.out / CHECKPOINT / "epoch-model"
        shutil.rmtree(folder, ignore_errors=True)
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        reader = Reader(
            str(folder),
            device=str(device),
            max_length=config.max_length,
            stride=config.stride,
            batch_size=max(config.batch_size, 32),
            max_answer_tokens=config.max_answer_tokens,
        )
        task = progress.add_task(f"dev epoch {state.epoch + 1}", total=len(data.dev), loss="", rate="")
        scores = evaluate_reader(reader, data.dev, on_progress=lambda n: progress.advance(task, n))
        progress.remove_task(task)
        del reader
        entry["dev"] = scores.as_dict()
        is_best = scores.f1 >= state.best_f1  # ties go to the later, longer-trained epoch
        if is_best:
            state.best_f1 = scores.f1
            state.best_epoch = state.epoch + 1
            for item in folder.iterdir():
                shutil.copy2(item, config.out / item.name)
        console.print(epoch_line(entry["epoch"], config.epochs, entry["train_loss"], scores, is_best))
        shutil.rmtree(folder, ignore_errors=True)
    else:
        console.print(f"epoch {entry['epoch']}/{config.epochs}: train loss {entry['train_loss']:.3f} (no --dev)")
    model.train()
    state.history.append(entry)


def epoch_line(epoch: int, epochs: int, loss: float | None, s: DevScores, best: bool) -> str:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.1f}"

    return (
        f"epoch {epoch}/{epochs}: train loss {loss:.3f} | dev F1 {s.f1:.1f} EM {s.exact:.1f} "
        f"(best null threshold {s.null_threshold:.2f}) | has-answer EM {pct(s.has_answer_exact)} "
        f"F1 {pct(s.has_answer_f1)} | no-answer F1 {pct(s.no_answer_f1)} | {s.questions} questions"
        + (" [best so far, saved]" if best else "")
    )
