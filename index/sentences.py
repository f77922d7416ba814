"""Sentence boundaries for the chunker: blingfire's sentences, with exact character offsets, and
line breaks; a regex split when blingfire fails or its offsets do not slice to its sentences."""

from __future__ import annotations

import ctypes
import re
from itertools import pairwise

import blingfire
import numpy as np

# Line breaks as `str.splitlines` knows them: every one ends a unit, so a heading is not glued to
# the paragraph below it.
_LINE_BREAK = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# Used only when blingfire fails or returns offsets that do not slice to its sentences.
# Starts only at the first mark of a run, quantifiers possessive: linear on a run of thousands of dots.
_FALLBACK_SENTENCE_END = re.compile(
    r"(?<![.!?\u3002\uff01\uff1f])[.!?\u3002\uff01\uff1f]++[\"'\u201d\u2019)\]]*+(?=\s|$)"
)


def sentence_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Whitespace-trimmed pieces of `text[start:end]` cut at sentence ends and line breaks.

    The pieces partition the range, so every non-whitespace character is in exactly one of them.
    """
    region = text[start:end]
    if not region or region.isspace():
        return []
    cuts = set(_sentence_ends(region))
    cuts.update(match.start() for match in _LINE_BREAK.finditer(region))
    cuts.add(0)
    cuts.add(len(region))
    spans = []
    for a, b in pairwise(sorted(cuts)):
        piece = region[a:b]
        stripped = piece.strip()
        if stripped:
            a += len(piece) - len(piece.lstrip())
            spans.append((start + a, start + a + len(stripped)))
    return spans


def _sentence_ends(region: str) -> list[int]:
    """Character offsets where blingfire ends sentences; a regex split if its answer is unusable."""
    found = _blingfire_sentences(region)
    if found is None:
        return _fallback_sentence_ends(region)
    sentences, offsets = found
    previous_end = 0
    for sentence, (a, b) in zip(sentences, offsets):
        # blingfire joins lines inside a sentence with spaces; compare ignoring whitespace.
        if not previous_end <= a <= b <= len(region) or "".join(sentence.split()) != "".join(region[a:b].split()):
            return _fallback_sentence_ends(region)
        previous_end = b
    return [b for _, b in offsets]


def _blingfire_sentences(region: str) -> tuple[list[str], list[tuple[int, int]]] | None:
    """blingfire's sentences and their (start, end) character offsets, or None if it fails.

    Same as `blingfire.text_to_sentences_and_offsets`, whose byte-to-character offset mapping is a
    Python loop over every byte (half of all chunking time); here it is a numpy cumulative sum.
    """
    try:
        data = region.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return None
    size = len(data) * 2
    out = ctypes.create_string_buffer(size)
    starts, ends = (ctypes.c_int32 * size)(), (ctypes.c_int32 * size)()
    count = blingfire.blingfire.TextToSentencesWithOffsets(
        ctypes.c_char_p(data),
        ctypes.c_int(len(data)),
        ctypes.byref(out),
        ctypes.byref(starts),
        ctypes.byref(ends),
        ctypes.c_int(size),
    )
    if count <= 0 or count > size:
        return None
    try:
        sentences = out.value.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return None
    n = len(sentences)
    byte_starts = np.frombuffer(memoryview(starts), dtype=np.int32, count=n)
    byte_ends = np.frombuffer(memoryview(ends), dtype=np.int32, count=n) + 1  # blingfire's ends are inclusive
    if n and (byte_starts.min() < 0 or byte_ends.max() > len(data)):
        return None
    if data.isascii():
        char_starts, char_ends = byte_starts, byte_ends
    else:  # a character starts at every byte that is not a UTF-8 continuation byte (10xxxxxx)
        leading = (np.frombuffer(data, dtype=np.uint8) & 0xC0) != 0x80
        chars_before = np.concatenate(([0], np.cumsum(leading)))
        char_starts, char_ends = chars_before[byte_starts], chars_before[byte_ends]
    return sentences, list(zip(char_starts.tolist(), char_ends.tolist()))


def _fallback_sentence_ends(region: str) -> list[int]:
    return [match.end() for match in _FALLBACK_SENTENCE_END.finditer(region)]
