"""Split a document's text into sentence-aware, overlapping chunks with exact character offsets.

Every chunk satisfies `text[chunk.start:chunk.end] == chunk.text`, never starts or ends with
whitespace, and never crosses a page boundary; together the chunks cover every non-whitespace
character of the text.

How: the text (each page separately) is cut into *units* at sentence ends (blingfire, `index.sentences`) and at line
breaks; every unit is tokenized in one batched call. Units are packed greedily into chunks of at most
`chunk_tokens` tokens; the next chunk starts with about `overlap_tokens` tokens of the previous
chunk's trailing whole sentences (or, when the last sentence alone is too long, with the tail of it,
cut at a word boundary). A unit longer than a chunk is split at word (else token) boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from index.sentences import sentence_spans
from index.types import Chunk, Page


@dataclass(frozen=True)
class _Unit:
    """A piece of text that chunks take whole: `text[start:end]`, `n_tokens` tokens.

    Its tokens are `encodings[encoding].offsets[first:last]`, relative to character `base`.
    """

    start: int
    end: int
    n_tokens: int
    encoding: int
    first: int
    last: int
    base: int


def chunk_text(
    doc_id: str,
    text: str,
    tokenizer: Any,
    chunk_tokens: int = 160,
    overlap_tokens: int = 32,
    pages: Sequence[Page] = (),
) -> list[Chunk]:
    """Chunks of `text` with at most `chunk_tokens` tokens each (counted by the HF fast `tokenizer`
    without special tokens), consecutive chunks sharing about `overlap_tokens` tokens.

    With `pages`, each page is chunked on its own and its chunks carry `page=number`; text that lies
    outside every page (if any) is chunked with `page=None`. Empty or blank text gives [].
    """
    if chunk_tokens < 1:
        raise ValueError(f"chunk_tokens must be at least 1, got {chunk_tokens}")
    if not 0 <= overlap_tokens < chunk_tokens:
        raise ValueError(
            f"overlap_tokens must be in [0, chunk_tokens), got {overlap_tokens} with chunk_tokens={chunk_tokens}"
        )
    regions = _regions(text, pages)
    segments: list[tuple[int, int, int]] = []  # (start, end, region index)
    for index, (start, end, _) in enumerate(regions):
        segments.extend((a, b, index) for a, b in sentence_spans(text, start, end))
    if not segments:
        return []

    encodings = _encode(tokenizer, [text[a:b] for a, b, _ in segments])
    # With overlap, a unit must leave room for at least one token of overlap beside it.
    unit_limit = chunk_tokens - 1 if overlap_tokens else chunk_tokens
    piece_tokens = chunk_tokens - overlap_tokens

    chunks: list[Chunk] = []
    units_by_region: dict[int, list[_Unit]] = {}
    for encoding_index, (start, end, region) in enumerate(segments):
        units_by_region.setdefault(region, []).extend(
            _units_of(text, start, end, encodings, encoding_index, unit_limit, piece_tokens)
        )
    for region, units in units_by_region.items():
        page = regions[region][2]
        for start, end in _pack(text, units, encodings, chunk_tokens, overlap_tokens):
            chunk = Chunk(doc_id=doc_id, start=start, end=end, text=text[start:end], page=page)
            assert text[chunk.start : chunk.end] == chunk.text and chunk.text == chunk.text.strip(), chunk
            chunks.append(chunk)
    return chunks


def _regions(text: str, pages: Sequence[Page]) -> list[tuple[int, int, int | None]]:
    """(start, end, page number) ranges to chunk separately: the pages, plus any text between them."""
    if not pages:
        return [(0, len(text), None)]
    regions: list[tuple[int, int, int | None]] = []
    position = 0
    for page in sorted(pages, key=lambda p: (p.start, p.end)):
        if not 0 <= page.start <= page.end <= len(text):
            raise ValueError(f"page {page.number} [{page.start}, {page.end}) is outside the text (length {len(text)})")
        if page.start < position:
            raise ValueError(f"page {page.number} [{page.start}, {page.end}) overlaps the page before it")
        if page.start > position:
            regions.append((position, page.start, None))
        regions.append((page.start, page.end, page.number))
        position = page.end
    if position < len(text):
        regions.append((position, len(text), None))
    return regions


def _encode(tokenizer: Any, texts: list[str]) -> list[Any]:
    """One batched tokenizer call; returns the `tokenizers.Encoding` of each text (offsets, word ids)."""
    batch = tokenizer(
        texts,
        add_special_tokens=False,
        truncation=False,
        padding=False,
        return_attention_mask=False,
        return_token_type_ids=False,
        verbose=False,
    )
    encodings = batch.encodings
    if encodings is None:
        raise TypeError("chunk_text needs a fast (Rust-backed) Hugging Face tokenizer for token offsets")
    return encodings


def _units_of(
    text: str,
    start: int,
    end: int,
    encodings: list[Any],
    encoding_index: int,
    unit_limit: int,
    piece_tokens: int,
) -> list[_Unit]:
    """The segment `text[start:end]` as one unit, or, if it has more than `unit_limit` tokens, as
    pieces of at most `piece_tokens` tokens cut at word boundaries where possible."""
    encoding = encodings[encoding_index]
    n_tokens = len(encoding)
    if n_tokens <= unit_limit:
        return [_Unit(start, end, n_tokens, encoding_index, 0, n_tokens, start)]
    offsets = encoding.offsets
    word_ids = encoding.word_ids
    units = []
    first = 0
    while first < n_tokens:
        last = min(first + piece_tokens, n_tokens)
        if last < n_tokens:
            last = _cut_at_or_before(word_ids, offsets, first, last)
        piece_start = start if first == 0 else start + offsets[first][0]
        piece_end = end if last == n_tokens else start + offsets[last][0]
        piece = text[piece_start:piece_end]
        stripped = piece.strip()
        if stripped:
            piece_start += len(piece) - len(piece.lstrip())
            piece_end = piece_start + len(stripped)
            units.append(_Unit(piece_start, piece_end, last - first, encoding_index, first, last, start))
        first = last
    return units


def _cut_at_or_before(word_ids: list[int | None], offsets: list[tuple[int, int]], low: int, index: int) -> int:
    """Where to end a piece that starts at token `low` and should end by token `index`: the last word
    start in (low, index]; else the last character boundary there (a cut inside a word); else, when
    one character alone has more tokens than that (e.g. Hangul), the first character boundary after."""
    for candidate in range(index, low, -1):
        if _starts_word(word_ids, offsets, candidate):
            return candidate
    for candidate in range(index, low, -1):
        if _starts_character(offsets, candidate):
            return candidate
    for candidate in range(index + 1, len(offsets)):
        if _starts_character(offsets, candidate):
            return candidate
    return len(offsets)


def _cut_at_or_after(word_ids: list[int | None], offsets: list[tuple[int, int]], index: int, high: int) -> int | None:
    """The first word start in [index, high), else the first character boundary there, else None."""
    for candidate in range(index, high):
        if _starts_word(word_ids, offsets, candidate):
            return candidate
    for candidate in range(index, high):
        if _starts_character(offsets, candidate):
            return candidate
    return None


def _starts_word(word_ids: list[int | None], offsets: list[tuple[int, int]], index: int) -> bool:
    word = word_ids[index]
    return (word is None or word != word_ids[index - 1]) and _starts_character(offsets, index)


def _starts_character(offsets: list[tuple[int, int]], index: int) -> bool:
    """Token `index` begins a new character: tokens never split one (Hangul gives 3 tokens a syllable)."""
    return offsets[index][0] >= offsets[index - 1][1]


def _pack(
    text: str, units: list[_Unit], encodings: list[Any], chunk_tokens: int, overlap_tokens: int
) -> list[tuple[int, int]]:
    """Greedy packing of units into (start, end) chunk spans of at most `chunk_tokens` tokens."""
    spans: list[tuple[int, int]] = []
    current: list[_Unit] = []
    current_tokens = 0
    for unit in units:
        if current and current_tokens + unit.n_tokens > chunk_tokens:
            spans.append((current[0].start, current[-1].end))
            room = chunk_tokens - unit.n_tokens  # for overlap beside the unit that starts the next chunk
            current = _overlap(text, current, encodings, overlap_tokens, room) if overlap_tokens else []
            current_tokens = sum(u.n_tokens for u in current)
        current.append(unit)
        current_tokens += unit.n_tokens
    if current:
        spans.append((current[0].start, current[-1].end))
    return spans


def _overlap(text: str, previous: list[_Unit], encodings: list[Any], overlap_tokens: int, room: int) -> list[_Unit]:
    """The units the next chunk starts with: at most `room` tokens, about `overlap_tokens`.

    Trailing whole units of `previous` within `overlap_tokens`; failing that, the last unit whole if
    it is at most half as long again as the overlap, else the tail of it. Never all of `previous`
    (which has more than `room` tokens), so every chunk starts after the one before it.
    """
    budget = min(overlap_tokens, room)
    taken: list[_Unit] = []
    total = 0
    for unit in reversed(previous):
        if total + unit.n_tokens > budget:
            break
        taken.append(unit)
        total += unit.n_tokens
    taken.reverse()
    if total > 0 or budget <= 0 or len(taken) == len(previous):
        return taken
    unit = previous[-1 - len(taken)]
    if unit.n_tokens <= min(room, overlap_tokens + overlap_tokens // 2) and unit is not previous[0]:
        return [unit, *taken]
    tail = _tail(text, unit, encodings, budget)
    return [tail, *taken] if tail is not None else taken


def _tail(text: str, unit: _Unit, encodings: list[Any], budget: int) -> _Unit | None:
    """The last at most `budget` tokens of `unit`, starting at a word start where one is in reach."""
    if unit.n_tokens <= 1:
        return None
    encoding = encodings[unit.encoding]
    offsets = encoding.offsets
    cut = _cut_at_or_after(encoding.word_ids, offsets, max(unit.first + 1, unit.last - budget), unit.last)
    if cut is None:
        return None
    first = cut
    # Rather not start a chunk with the comma or bracket that ended the previous clause.
    while (
        first + 1 < unit.last
        and _starts_character(offsets, first + 1)
        and not any(ch.isalnum() for ch in text[unit.base + offsets[first][0] : unit.base + offsets[first][1]])
    ):
        first += 1
    start = max(unit.base + offsets[first][0], unit.start)
    while start < unit.end and text[start].isspace():
        start += 1
    if start >= unit.end:
        return None
    return _Unit(start, unit.end, unit.last - first, unit.encoding, first, unit.last, unit.base)
