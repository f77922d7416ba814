"""Labelled training windows and their batches: questions -> windows -> padded tensors.

Windows come from `qa.windows.encode_windows`, the function the reader uses at serving time, so
training sees exactly the tokens serving sees. Token labels are computed from its offsets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from qa.reader import MAX_QUESTION_TOKENS
from qa.windows import encode_windows
from train.data import SquadQuestion


def clip_question(tokenizer: PreTrainedTokenizerBase, question: str) -> str:
    """The question cut after its first `MAX_QUESTION_TOKENS` tokens, as `qa.reader` does."""
    question = question.strip()
    offsets = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    if len(offsets) <= MAX_QUESTION_TOKENS:
        return question
    return question[: offsets[MAX_QUESTION_TOKENS - 1][1]]


@dataclass
class Features:
    """Labelled training windows, unpadded. `start[i] == end[i] == 0` points window i at [CLS]."""

    input_ids: list[np.ndarray]
    token_type_ids: list[np.ndarray] | None
    start: np.ndarray
    end: np.ndarray
    question_index: np.ndarray  # which question each window came from

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(x) for x in self.input_ids), dtype=np.int64, count=len(self))

    @property
    def answer_windows(self) -> int:
        return int(np.count_nonzero(self.start))


def answer_token_span(
    offsets: Sequence[tuple[int, int] | None], start_char: int, end_char: int
) -> tuple[int, int] | None:
    """Token indices (start, end) of the context tokens covering [start_char, end_char), or None
    when the answer is not wholly inside this window's context."""
    context_tokens = [t for t, o in enumerate(offsets) if o is not None]
    if not context_tokens:
        return None
    first, last = context_tokens[0], context_tokens[-1]
    if offsets[first][0] > start_char or offsets[last][1] < end_char:  # type: ignore[index]
        return None
    start_token = first
    for t in context_tokens:
        if offsets[t][0] <= start_char:  # type: ignore[index]
            start_token = t
        else:
            break
    end_token = last
    for t in context_tokens:
        if t >= start_token and offsets[t][1] >= end_char:  # type: ignore[index]
            end_token = t
            break
    return start_token, end_token


def build_features(
    tokenizer: PreTrainedTokenizerBase,
    questions: Sequence[SquadQuestion],
    max_length: int,
    stride: int,
    chunk_size: int = 128,
    on_progress: Callable[[int], None] | None = None,
) -> Features:
    """Windows every question with `encode_windows` and labels each window.

    The answer (the first one, as in SQuAD training) is labelled at its tokens in the windows
    that contain it whole; unanswerable questions and windows without the answer point at the
    first token ([CLS]). Padding is removed: batches pad again to their own longest window.
    """
    input_ids: list[np.ndarray] = []
    token_types: list[np.ndarray] | None = []
    starts: list[int] = []
    ends: list[int] = []
    owners: list[int] = []
    for lo in range(0, len(questions), chunk_size):
        chunk = questions[lo : lo + chunk_size]
        windows = encode_windows(
            tokenizer,
            [clip_question(tokenizer, q.question) for q in chunk],
            [q.context for q in chunk],
            max_length,
            stride,
        )
        for i, sample in enumerate(windows.sample_index):
            mask = windows.attention_mask[i].astype(bool)
            real = np.flatnonzero(mask)
            first = int(real[0])
            question = chunk[sample]
            span = None
            if question.is_answerable:
                answer = question.answers[0]
                span = answer_token_span(windows.offsets[i], answer.start, answer.end)
            start, end = (span[0] - first, span[1] - first) if span else (0, 0)
            input_ids.append(windows.input_ids[i][mask].astype(np.int32))
            if windows.token_type_ids is None:
                token_types = None
            elif token_types is not None:
                token_types.append(windows.token_type_ids[i][mask].astype(np.int8))
            starts.append(start)
            ends.append(end)
            owners.append(lo + sample)
        if on_progress is not None:
            on_progress(len(chunk))
    return Features(
        input_ids=input_ids,
        token_type_ids=token_types,
        start=np.asarray(starts, dtype=np.int64),
        end=np.asarray(ends, dtype=np.int64),
        question_index=np.asarray(owners, dtype=np.int64),
    )


def length_grouped_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, group_batches: int = 50
) -> list[list[int]]:
    """A shuffled epoch of batches whose windows have similar lengths, so padding stays small.

    Windows are shuffled, cut into groups of `group_batches` batches, sorted by length within
    each group and split into batches; the batch order is then shuffled again.
    """
    order = rng.permutation(len(lengths))
    group = batch_size * group_batches
    batches: list[list[int]] = []
    for lo in range(0, len(order), group):
        members = order[lo : lo + group]
        members = members[np.argsort(-lengths[members], kind="stable")]
        batches.extend(members[i : i + batch_size].tolist() for i in range(0, len(members), batch_size))
    rng.shuffle(batches)  # type: ignore[arg-type,unused-ignore]
    return batches


def collate(features: Features, indices: Sequence[int], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Pads the chosen windows to the longest among them and adds the span labels."""
    width = max(len(features.input_ids[i]) for i in indices)
    ids = np.full((len(indices), width), pad_token_id, dtype=np.int64)
    mask = np.zeros((len(indices), width), dtype=np.int64)
    types = np.zeros((len(indices), width), dtype=np.int64) if features.token_type_ids is not None else None
    for row, i in enumerate(indices):
        n = len(features.input_ids[i])
        ids[row, :n] = features.input_ids[i]
        mask[row, :n] = 1
        if types is not None:
            types[row, :n] = features.token_type_ids[i]  # type: ignore[index]
    batch = {
        "input_ids": torch.from_numpy(ids),
        "attention_mask": torch.from_numpy(mask),
        "start_positions": torch.from_numpy(features.start[list(indices)]),
        "end_positions": torch.from_numpy(features.end[list(indices)]),
    }
    if types is not None:
        batch["token_type_ids"] = torch.from_numpy(types)
    return batch


def cap_windows(features: Features, max_windows: int, rng: np.random.Generator) -> Features:
    """Keeps at most `max_windows` windows per question: every window holding the answer, then
    windows without it drawn at random. Long documents (papers of 30k characters) otherwise
    yield dozens of answer-less windows per question. `max_windows <= 0` keeps all."""
    if max_windows <= 0:
        return features
    keep: list[int] = []
    owners = features.question_index
    bounds = np.flatnonzero(np.diff(owners)) + 1  # windows of one question are contiguous
    for group in np.split(np.arange(len(features)), bounds):
        if len(group) <= max_windows:
            keep.extend(group.tolist())
            continue
        positive = group[features.start[group] > 0]
        negative = group[features.start[group] == 0]
        room = max(max_windows - len(positive), 0)
        chosen: np.ndarray | list[int] = (
            rng.choice(negative, size=min(room, len(negative)), replace=False) if room else []
        )
        keep.extend(sorted([*positive.tolist(), *np.asarray(chosen, dtype=np.int64).tolist()]))
    return Features(
        input_ids=[features.input_ids[i] for i in keep],
        token_type_ids=None if features.token_type_ids is None else [features.token_type_ids[i] for i in keep],
        start=features.start[keep],
        end=features.end[keep],
        question_index=features.question_index[keep],
    )
