"""Span decoding: a reader's start/end logits per window -> scored character spans of the contexts.

Pure numpy over `qa.windows.Windows`; `qa.reader.Reader` runs the model and calls these.
"""

from __future__ import annotations

import numpy as np

from qa.windows import Windows

# How many best start and end tokens per window are paired up when decoding (k x k candidates).
TOP_K_TOKENS = 20


def null_scores(windows: Windows, start: np.ndarray, end: np.ndarray, cls_id: int | None) -> np.ndarray:
    """Per window: start+end logit at the [CLS] token (first [CLS]; index 0 if none)."""
    if cls_id is None:
        cls = np.zeros(len(windows), dtype=np.int64)
    else:
        cls = np.argmax(windows.input_ids == cls_id, axis=1)
    rows = np.arange(len(windows))
    return start[rows, cls] + end[rows, cls]


def decode_spans(
    windows: Windows,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    pair_contexts: list[str],
    n_best: int,
    max_answer_tokens: int,
) -> list[list[tuple[int, int, float, float]]]:
    """Per window, up to ~2*n_best (char start, char end, start logit, end logit), best first.

    Only context tokens count; a span is start <= end and at most `max_answer_tokens`
    long. The top-k start and top-k end tokens of each window are paired (k x k, all
    windows at once) instead of scoring all O(n^2) spans.
    """
    n, width = start_logits.shape
    # Character offsets per token; -1 for tokens outside the context.
    char_start = np.full((n, width), -1, dtype=np.int64)
    char_end = np.full((n, width), -1, dtype=np.int64)
    for w, row in enumerate(windows.offsets):
        idx = [t for t, o in enumerate(row) if o is not None]
        if idx:
            spans = np.array([row[t] for t in idx], dtype=np.int64)
            char_start[w, idx] = spans[:, 0]
            char_end[w, idx] = spans[:, 1]
    is_context = char_start >= 0
    starts = np.where(is_context, start_logits, -np.inf)
    ends = np.where(is_context, end_logits, -np.inf)

    k = min(TOP_K_TOKENS, width)
    top_s = np.argpartition(-starts, k - 1, axis=1)[:, :k]  # (n, k) token indices
    top_e = np.argpartition(-ends, k - 1, axis=1)[:, :k]
    rows = np.arange(n)[:, None]
    s_val = starts[rows, top_s]  # (n, k)
    e_val = ends[rows, top_e]
    scores = s_val[:, :, None] + e_val[:, None, :]  # (n, k, k)
    length = top_e[:, None, :] - top_s[:, :, None] + 1
    valid = (length >= 1) & (length <= max_answer_tokens) & np.isfinite(scores)
    scores = np.where(valid, scores, -np.inf)

    keep = min(2 * n_best, k * k)  # slack for spans that strip to nothing or repeat
    flat = scores.reshape(n, -1)
    best = np.argsort(-flat, axis=1, kind="stable")[:, :keep]
    out: list[list[tuple[int, int, float, float]]] = []
    for w in range(n):
        context = pair_contexts[windows.sample_index[w]]
        found: list[tuple[int, int, float, float]] = []
        for f in best[w]:
            if not np.isfinite(flat[w, f]):
                break
            s_tok, e_tok = int(top_s[w, f // k]), int(top_e[w, f % k])
            start, end = _whole_words(context, *_strip(context, int(char_start[w, s_tok]), int(char_end[w, e_tok])))
            if start < end:
                found.append((start, end, float(s_val[w, f // k]), float(e_val[w, f % k])))
        out.append(found)
    return out


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    """Moves [start, end) inwards past surrounding whitespace (offsets, so text stays a slice)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widens [start, end) to whole words: a span starting or ending on a word piece ("##en"
    of "Biden") becomes the whole word, so answers never quote half a word."""
    if start >= end:
        return start, end
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end
