"""The model card (`README.md`) a training run leaves beside the weights."""

from __future__ import annotations

from pathlib import Path

from train.report import FinishedRun


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def model_card(run: FinishedRun) -> str:
    config, files, dev, result = run.config, run.files, run.dev, run.result
    summary, train_questions = run.summary, run.train_questions
    lines = [
        "# Extractive QA reader trained with `spanqa train-reader`",
        "",
        f"Base: `{config.base}`. Output of `spanqa train-reader`; load it like any Hugging Face "
        "extractive QA model (`AutoModelForQuestionAnswering`), or point spanqa at it:",
        "",
        "```sh",
        f"SPANQA_READER_MODEL={config.out.resolve()} spanqa serve",
        "```",
        "",
        f"Windows of {config.max_length} tokens with a stride of {config.stride} "
        "(`[CLS] question [SEP] context [SEP]`, from `qa.windows.encode_windows`, the same function "
        "serving uses): set `SPANQA_READER_MAX_LENGTH` / `SPANQA_READER_STRIDE` to match if they "
        "differ from the defaults. Unanswerable questions, and windows without the answer, were "
        "trained to point at the first token (`[CLS]`); its start+end logit is the null score.",
        "",
        "## Training data",
        "",
        "| file | questions used | answerable | unanswerable | left out (dev overlap) | left out (bad answer offsets) |",
        "|---|---|---|---|---|---|",
    ]
    for f in files:
        lines.append(
            f"| `{f.path}` | {f.questions:,} | {f.answerable:,} | {f.unanswerable:,} | {f.excluded_for_dev:,} | {f.skipped_bad:,} |"
        )
    lines += [
        "",
        f"Trained on {train_questions:,} questions"
        + (f" (a random sample: `--limit {config.limit}`)" if config.limit else "")
        + f" -> {summary['features']:,} windows ({summary['answer_windows']:,} holding the answer)"
        + (f", at most {config.max_windows} windows per question" if config.max_windows else "")
        + ".",
        "",
        "## Hyperparameters",
        "",
        f"AdamW, learning rate {config.lr:g}, weight decay {config.weight_decay:g}, "
        f"{config.warmup:.0%} linear warm-up then linear decay, batch {config.batch_size} windows "
        f"(grouped by length, padding trimmed), {config.epochs} epoch(s) = {summary['total_steps']:,} steps, "
        f"gradient clipping 1.0, seed {config.seed}.",
        "",
    ]
    if dev is not None:
        articles = f" (articles: {', '.join(dev.articles)})" if dev.articles else ""
        sample = f", a random sample of {config.dev_limit}" if config.dev_limit else ""
        lines += [
            "## Dev scores per epoch",
            "",
            f"On `{dev.path}`{articles}: {dev.questions:,} questions ({dev.answerable:,} answerable){sample}. "
            "The reader is given each question's gold paragraph and decodes with `qa.reader.Reader` "
            f"(spans up to {config.max_answer_tokens} tokens); metrics from `qa.eval.metrics` (official "
            "SQuAD normalization). *F1 / EM at best threshold*: SQuAD 2.0 overall scores predicting "
            "no answer where `null_score - best_span_score > null threshold`, at the threshold "
            "that maximizes F1. *no-answer threshold*: the threshold on the best span score alone "
            "(spanqa's `SPANQA_NO_ANSWER_THRESHOLD` rule) that maximizes F1, and that F1.",
            "",
            "| epoch | train loss | F1 (best thr) | EM (best thr) | null threshold | has-answer EM | has-answer F1 | no-answer F1 | no-answer threshold (F1) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for e in result.epochs:
            d = e.get("dev") or {}
            mark = " (kept)" if e["epoch"] == result.best_epoch else ""
            lines.append(
                f"| {e['epoch']}{mark} | {e['train_loss']:.3f} | {_pct(d.get('f1'))} | {_pct(d.get('exact'))} | "
                f"{d.get('null_threshold', float('nan')):.2f} | {_pct(d.get('has_answer_exact'))} | "
                f"{_pct(d.get('has_answer_f1'))} | {_pct(d.get('no_answer_f1'))} | "
                f"{d.get('span_threshold', float('nan')):.2f} ({_pct(d.get('span_threshold_f1'))}) |"
            )
        lines.append("")
    else:
        lines += ["No dev set was given: the model is the last epoch's.", ""]
    machine = summary["machine"]
    where = (
        machine.get("gpu")
        or f"{machine['cpu']}, {machine['torch_threads']} torch thread(s) of {machine['cpu_cores']} cores"
    )
    resumed = (
        f" Resumed at step(s) {', '.join(map(str, summary['resumed_at_steps']))}."
        if summary["resumed_at_steps"]
        else ""
    )
    lines += [
        "## Training time",
        "",
        f"{result.train_seconds / 60:.1f} minutes of optimizer steps ({result.windows_per_second:.1f} windows/s, "
        f"dev evaluation not included) on {machine['device']}: {where}; {machine['platform']}, "
        f"torch {machine['torch']}.{resumed}",
        "",
    ]
    return "\n".join(lines)


def write_model_card(out: Path, run: FinishedRun) -> Path:
    path = out / "README.md"
    path.write_text(model_card(run), encoding="utf-8")
    return path
