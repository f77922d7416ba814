"""Tokenizing question + context into model windows: one function for training and serving.

`[CLS] question [SEP] context [SEP]`, contexts longer than the window split with a stride.
Training (`train.features`) and the reader (`qa.reader`) both call `encode_windows`, so there is
no train/serve skew in how text becomes tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from transformers import PreTrainedTokenizerBase


@dataclass
class Windows:
    """Model inputs for a batch of (question, context) pairs, one row per window.

    `sample_index[i]`: which input pair window i came from.
    `offsets[i][t]`: the (start, end) character span of token t in that pair's context,
    or None for tokens that are not context (question, special tokens, padding).
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray | None
    sample_index: list[int]
    offsets: list[list[tuple[int, int] | None]]

    def __len__(self) -> int:
        return len(self.sample_index)


def encode_windows(
    tokenizer: PreTrainedTokenizerBase,
    questions: list[str],
    contexts: list[str],
    max_length: int = 256,
    stride: int = 96,
    pad_to_multiple_of: int | None = None,
) -> Windows:
    """Tokenizes pairs into windows of at most `max_length` tokens, overlapping by `stride`.

    Padding is to the longest window in this batch (not to `max_length`).
    """
    pad_on_right = tokenizer.padding_side == "right"
    questions = [q.strip() for q in questions]
    encoded = tokenizer(
        questions if pad_on_right else contexts,
        contexts if pad_on_right else questions,
        truncation="only_second" if pad_on_right else "only_first",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="longest",
        pad_to_multiple_of=pad_to_multiple_of,
        return_tensors="np",
    )
    context_id = 1 if pad_on_right else 0
    offsets: list[list[tuple[int, int] | None]] = []
    for i, row in enumerate(encoded["offset_mapping"]):
        seq_ids = encoded.sequence_ids(i)
        offsets.append([(int(s), int(e)) if seq_ids[t] == context_id else None for t, (s, e) in enumerate(row)])
    return Windows(
        input_ids=encoded["input_ids"],
        attention_mask=encoded["attention_mask"],
        token_type_ids=encoded.get("token_type_ids"),
        sample_index=[int(x) for x in encoded["overflow_to_sample_mapping"]],
        offsets=offsets,
    )
