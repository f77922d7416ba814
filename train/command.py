"""The command line of training: `spanqa train-reader` (and the `spanqa reader` sub-app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from train.config import TrainConfig, default_base_model
from train.loop import train_reader
from train.reader_command import reader_app

__all__ = ["reader_app", "train_reader_command"]


def train_reader_command(
    train_files: Annotated[
        list[Path], typer.Argument(help="SQuAD v1.1/v2.0 JSON files to train on", show_default=False)
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder: a Hugging Face model folder", show_default=False)],
    base: Annotated[
        Optional[str],
        typer.Option(
            help="Model to start from: local path or hub id (default: the all-MiniLM-L6-v2 encoder; a QA checkpoint such as the shipped reader continues from it)"
        ),
    ] = None,
    dev: Annotated[
        Optional[Path],
        typer.Option(
            "--dev",
            help="SQuAD file to evaluate on after each epoch; the epoch with the best dev F1 is kept (ties: the later). Training leaves out questions on its paragraphs",
        ),
    ] = None,
    dev_articles: Annotated[
        Optional[str], typer.Option(help="Comma-separated article titles of --dev to evaluate on (default: all)")
    ] = None,
    epochs: Annotated[int, typer.Option(help="Passes over the training windows")] = 3,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, linear warm-up then decay)")] = 1e-4,
    batch_size: Annotated[int, typer.Option(help="Windows per optimizer step")] = 16,
    max_length: Annotated[int, typer.Option(help="Window length in tokens (use the same value when serving)")] = 256,
    stride: Annotated[int, typer.Option(help="Overlap between windows in tokens")] = 96,
    seed: Annotated[int, typer.Option(help="Random seed (batch order, head init, dropout, --limit samples)")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted run in --out")] = False,
    warmup: Annotated[float, typer.Option(help="Share of steps spent warming up the learning rate")] = 0.1,
    weight_decay: Annotated[float, typer.Option(help="AdamW weight decay")] = 0.01,
    max_answer_tokens: Annotated[int, typer.Option(help="Longest answer span considered on dev (tokens)")] = 30,
    limit: Annotated[int, typer.Option(help="Train on at most this many questions, drawn at random (0 = all)")] = 0,
    dev_limit: Annotated[
        int, typer.Option(help="Evaluate on at most this many dev questions, drawn at random (0 = all)")
    ] = 0,
    max_windows: Annotated[
        int,
        typer.Option(
            help="At most this many windows per question: those holding the answer, then others at random (0 = all)"
        ),
    ] = 0,
    skip_bad: Annotated[
        bool,
        typer.Option(
            "--skip-bad",
            help="Leave out questions whose answer does not match its context (listed), instead of stopping",
        ),
    ] = False,
    max_steps: Annotated[
        int,
        typer.Option(
            help="Stop after this many steps in all, with a checkpoint; --resume continues (0 = run to the end)"
        ),
    ] = 0,
    checkpoint_every: Annotated[
        int,
        typer.Option(
            help="Save a checkpoint every N steps and after each epoch (0 = only when --max-steps stops the run)"
        ),
    ] = 200,
    threads: Annotated[int, typer.Option(help="CPU threads for torch (0 = all cores)")] = 0,
    device: Annotated[str, typer.Option(help="auto (GPU when there is one), cpu, cuda, cuda:1, mps")] = "auto",
    keep_checkpoint: Annotated[
        bool, typer.Option("--keep-checkpoint", help="Keep OUT/checkpoint after a finished run")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace what --out holds (a finished model, other files)")
    ] = False,
) -> None:
    """Fine-tune the reader on SQuAD-format files; prints dev EM/F1 after each epoch."""
    console = Console(stderr=True, soft_wrap=True)
    config = TrainConfig(
        train_files=list(train_files),
        out=out,
        base=base or default_base_model(),
        dev_file=dev,
        dev_articles=[a.strip() for a in (dev_articles or "").split(",") if a.strip()],
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        max_length=max_length,
        stride=stride,
        seed=seed,
        warmup=warmup,
        weight_decay=weight_decay,
        max_answer_tokens=max_answer_tokens,
        limit=limit,
        dev_limit=dev_limit,
        max_windows=max_windows,
        skip_bad=skip_bad,
        max_steps=max_steps,
        checkpoint_every=checkpoint_every,
        threads=threads,
        device=device,
        resume=resume,
        keep_checkpoint=keep_checkpoint,
        overwrite=overwrite,
    )
    try:
        result = train_reader(config, console)
    except (ValueError, OSError) as exc:  # BadQuestionsError and SquadFormatError are ValueErrors
        console.print(f"error: {exc}", style="red", markup=False, highlight=False)
        raise typer.Exit(2) from None
    if result.finished:
        best = f" (best epoch {result.best_epoch})" if result.best_epoch else ""
        console.print(
            f"done in {result.train_seconds / 60:.1f} min of training ({result.windows_per_second:.1f} windows/s); "
            f"model in {out}{best}\nuse it: SPANQA_READER_MODEL={out}",
            soft_wrap=True,
        )
