"""The training loop of `spanqa train-reader`: fine-tune an extractive reader on SQuAD-format files.

Data: `train.dataset` and `train.features` (checked SQuAD questions -> windows from
`qa.windows.encode_windows`, the reader's own windowing -> length-grouped batches). Dev scores each
epoch: `train.dev_epoch` (`qa.reader.Reader` decoding + `qa.eval.metrics`). Output: a Hugging Face
model folder with `train_metrics.json` (`train.report`) and a model card (`train.model_card`).

Resumable: every `checkpoint_every` steps, and at the end of each epoch, the model, optimizer,
scheduler, random states, step, epoch, position and batch order of the epoch go to
`OUT/checkpoint/` (`train.checkpoints`); `--resume` continues from there, step for step as if never
stopped.
"""

from __future__ import annotations

import math
import random
import shutil
import time

import numpy as np
import torch
from rich.console import Console
from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

from train.checkpoints import (
    CHECKPOINT,
    RunState,
    load_checkpoint,
    prepare_output,
    restore_rng,
    save_checkpoint,
)
from train.config import TrainConfig
from train.dataset import load_training_data
from train.dev_epoch import finish_epoch
from train.features import Features, build_features, cap_windows, collate, length_grouped_batches
from train.machine import machine_description, pick_device, quiet_transformers, set_threads
from train.model_card import write_model_card
from train.progress import LOG_EVERY_S, progress_bar
from train.report import FinishedRun, write_train_metrics
from train.result import TrainResult


def make_optimizer(model, config: TrainConfig, total_steps: int):
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": config.weight_decay,
        },
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.lr)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup * total_steps), total_steps)
    return optimizer, scheduler


def epoch_plan(features: Features, config: TrainConfig, epoch: int) -> list[list[int]]:
    """The batch order of an epoch: fixed by (seed, epoch), so a rerun sees the same batches."""
    rng = np.random.default_rng([config.seed, epoch])
    return length_grouped_batches(features.lengths, config.batch_size, rng)


def train_reader(config: TrainConfig, console: Console | None = None) -> TrainResult:
    """Trains, evaluates each epoch on dev, keeps the best epoch in `config.out`; see module doc."""
    with quiet_transformers():
        return _train_reader(config, console or Console(stderr=True, soft_wrap=True))


def _train_reader(config: TrainConfig, console: Console) -> TrainResult:
    config.check()
    out = config.out
    checkpoint = prepare_output(config)
    saved = load_checkpoint(checkpoint, config) if checkpoint is not None else None

    threads = set_threads(config.threads)
    device = pick_device(config.device)
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)

    data = load_training_data(config, console)
    tokenizer = AutoTokenizer.from_pretrained(config.base)
    started = time.perf_counter()
    with progress_bar(console, config.show_progress) as progress:
        task = progress.add_task("windowing", total=len(data.train), loss="", rate="")
        features = build_features(
            tokenizer,
            data.train,
            config.max_length,
            config.stride,
            on_progress=lambda n: progress.advance(task, n),
        )
        progress.remove_task(task)
    features = cap_windows(features, config.max_windows, np.random.default_rng([config.seed, 1_000_003]))
    console.print(
        f"{len(data.train)} training questions -> {len(features)} windows "
        f"({features.answer_windows} with the answer) in {time.perf_counter() - started:.0f}s; "
        f"dev: {len(data.dev)} questions; device {device}, {threads} thread(s)"
    )

    model_source = str(checkpoint / "model") if checkpoint is not None and saved else config.base
    model = AutoModelForQuestionAnswering.from_pretrained(model_source).to(device)
    if not saved and not any(a.endswith("ForQuestionAnswering") for a in model.config.architectures or []):
        console.print(f"{config.base} has no span head: starting a new one")
    steps_per_epoch = math.ceil(len(features) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    optimizer, scheduler = make_optimizer(model, config, total_steps)
    state = RunState()
    if saved is not None:
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = RunState(**saved["state"])
        state.resumed_at.append(state.step)
        restore_rng(saved["rng"])
        console.print(f"resuming at step {state.step}/{total_steps} (epoch {state.epoch + 1}, batch {state.batch})")
    out.mkdir(parents=True, exist_ok=True)

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    session_seconds = 0.0
    session_windows = 0
    last_log = time.perf_counter()
    stopped = False
    with progress_bar(console, config.show_progress) as progress:
        task = progress.add_task("training", total=total_steps, completed=state.step, loss="", rate="")
        while state.epoch < config.epochs and not stopped:
            if state.plan is None:
                state.plan = epoch_plan(features, config, state.epoch)
                state.batch = 0
                state.epoch_losses = []
            progress.update(task, description=f"epoch {state.epoch + 1}/{config.epochs}")
            model.train()
            running = float(np.mean(state.epoch_losses[-50:])) if state.epoch_losses else None
            while state.batch < len(state.plan):
                if config.max_steps and state.step >= config.max_steps:
                    stopped = True
                    break
                step_start = time.perf_counter()
                indices = state.plan[state.batch]
                batch = {k: v.to(device) for k, v in collate(features, indices, pad_id).items()}
                loss = model(**batch).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                value = float(loss.detach())
                state.epoch_losses.append(value)
                state.step += 1
                state.batch += 1
                state.windows_seen += len(indices)
                session_windows += len(indices)
                spent = time.perf_counter() - step_start
                state.train_seconds += spent
                session_seconds += spent
                running = value if running is None else 0.95 * running + 0.05 * value
                rate = session_windows / max(session_seconds, 1e-9)
                progress.update(task, advance=1, loss=f"loss {running:.3f}", rate=f"{rate:.1f} win/s")
                if not console.is_terminal and time.perf_counter() - last_log >= LOG_EVERY_S:
                    last_log = time.perf_counter()  # no live bar in a log file: a line a minute instead
                    left = (total_steps - state.step) * config.batch_size / max(rate, 1e-9)
                    console.print(
                        f"step {state.step}/{total_steps} (epoch {state.epoch + 1}) loss {running:.3f} "
                        f"{rate:.1f} windows/s, about {left / 60:.0f} min of training left"
                    )
                epoch_done = state.batch == len(state.plan)  # the epoch-end checkpoint follows
                if config.checkpoint_every and state.step % config.checkpoint_every == 0 and not epoch_done:
                    save_checkpoint(out, model, tokenizer, optimizer, scheduler, state, config)
            if stopped:
                break
            finish_epoch(config, data, model, tokenizer, state, device, console, progress)
            state.epoch += 1
            state.plan = None
            state.batch = 0
            if config.checkpoint_every and (state.epoch < config.epochs or config.keep_checkpoint):
                save_checkpoint(out, model, tokenizer, optimizer, scheduler, state, config)

    windows_per_second = state.windows_seen / state.train_seconds if state.train_seconds else 0.0
    result = TrainResult(
        out=out,
        finished=not stopped,
        step=state.step,
        total_steps=total_steps,
        epochs=state.history,
        best_epoch=state.best_epoch,
        train_seconds=state.train_seconds,
        windows_per_second=windows_per_second,
    )
    if stopped:
        save_checkpoint(out, model, tokenizer, optimizer, scheduler, state, config)
        console.print(f"stopped at step {state.step}/{total_steps} (--max-steps); continue with --resume")
        return result
    if not data.dev:  # nothing to choose by: the last epoch is the model
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
    summary = {
        "features": len(features),
        "answer_windows": features.answer_windows,
        "total_steps": total_steps,
        "resumed_at_steps": state.resumed_at,
        "machine": machine_description(device, threads),
    }
    run = FinishedRun(config, data.files, data.dev_summary, result, summary, len(data.train))
    write_train_metrics(out, run)
    write_model_card(out, run)
    if not config.keep_checkpoint:
        shutil.rmtree(out / CHECKPOINT, ignore_errors=True)
    return result
