"""FaissSqliteStore after crashes and damage: rebuilt from SQLite, checked, models switched."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from errors import IndexCorrupt, IndexModelMismatch
from index.store import INDEX_FILE, INDEX_META_FILE, FaissSqliteStore
from tests.index.sqlite_faiss.helpers import DIM, MODEL, add_corpus, make_item, run_python, snapshot, text_vectors

WRITER_THEN_CRASH = """
    import os, hashlib, json, numpy as np
    from index.store import FaissSqliteStore
    from index.types import Chunk, Document

    def vectors(texts):
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal({dim}).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)

    def item(doc_id, text):
        sentences = [s for s in text.split(". ") if s]
        chunks, position = [], 0
        for sentence in sentences:
            start = text.index(sentence, position)
            chunks.append(Chunk(doc_id, start, start + len(sentence), sentence))
            position = start + len(sentence)
        return Document(id=doc_id, title=doc_id, text=text), chunks, vectors([c.text for c in chunks])

    texts = json.loads({texts!r})
    store = FaissSqliteStore({directory!r}, dimension={dim}, model_name="{model}", index_type="{index_type}")
    store.add_many([item(f"first-{{i}}", t) for i, t in enumerate(texts[:5])])
    store.flush()
    store.add_many([item(f"later-{{i}}", t) for i, t in enumerate(texts[5:])])
    store.delete("first-0")
    os._exit(0)  # a crash: no close(), no flush of the later writes
"""


def test_crash_after_commit_rebuilds_from_sqlite(open_store, contexts, tmp_path, index_type, caplog):
    directory = tmp_path / "data"
    texts = contexts[:9]
    code = WRITER_THEN_CRASH.format(
        dim=DIM, model=MODEL, index_type=index_type, directory=str(directory), texts=json.dumps(texts)
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    with caplog.at_level("INFO", logger="index.store"):
        store = open_store(directory)
    assert "rebuilt" in caplog.text
    store.check()
    assert store.count_documents() == 8 and store.get_document("first-0") is None
    assert store.count_vectors() == store.count_chunks()
    later = store.chunks_of("later-3")[0]
    (hit, score), *_ = store.search(text_vectors([later.text])[0], 1)
    assert hit.id == later.id and score == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("damage", ["missing", "corrupt", "truncated", "sidecar-missing"])
def test_damaged_index_file_is_rebuilt(open_store, contexts, tokenizer, damage, caplog):
    store = open_store()
    add_corpus(store, contexts, tokenizer, count=10)
    queries = text_vectors(["a", "b", "c"])
    before = snapshot(store, queries)
    store.close()
    index_path = store.directory / INDEX_FILE
    if damage == "missing":
        index_path.unlink()
    elif damage == "corrupt":
        data = bytearray(index_path.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 64] = os.urandom(64)
        index_path.write_bytes(bytes(data))
    elif damage == "truncated":
        index_path.write_bytes(index_path.read_bytes()[:100])
    else:
        (store.directory / INDEX_META_FILE).unlink()
    with caplog.at_level("INFO", logger="index.store"):
        again = open_store()
    assert "rebuilt" in caplog.text
    again.check()
    assert snapshot(again, queries) == before


def test_index_file_of_another_state_fails_the_check_and_is_rebuilt(open_store, contexts, tokenizer, caplog):
    """An index file that loads fine but holds other ids (e.g. restored from a backup) is caught by check()."""
    store = open_store()
    add_corpus(store, contexts, tokenizer, count=5)
    store.flush()
    old_index = (store.directory / INDEX_FILE).read_bytes()
    store.add_many([make_item("new", contexts[30], tokenizer)])
    store.close()
    (store.directory / INDEX_FILE).write_bytes(old_index)
    sidecar = json.loads((store.directory / INDEX_META_FILE).read_text())
    sidecar["blake2b"] = hashlib.blake2b(old_index, digest_size=16).hexdigest()
    (store.directory / INDEX_META_FILE).write_text(json.dumps(sidecar))
    with caplog.at_level("INFO", logger="index.store"):
        again = open_store()
    assert "disagrees" in caplog.text
    again.check()
    assert again.count_vectors() == again.count_chunks()
    new = again.chunks_of("new")[0]
    assert again.search(text_vectors([new.text])[0], 1)[0][0].id == new.id


def test_check_reports_disagreement(open_store, contexts, tokenizer):
    store = open_store()
    add_corpus(store, contexts, tokenizer, count=3)
    store.check()
    store._vectors.remove([store.all_chunk_ids()[0]])  # damage the in-memory FAISS index directly
    with pytest.raises(IndexCorrupt, match="1 chunk vectors missing"):
        store.check()


def test_a_damaged_database_is_reported(tmp_path, index_type):
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "spanqa.sqlite3").write_bytes(b"this is not a database" * 100)
    for read_only in (False, True):
        with pytest.raises(IndexCorrupt, match="spanqa database"):
            FaissSqliteStore(directory, dimension=DIM, model_name=MODEL, index_type=index_type, read_only=read_only)


# ---- models and locking ----------------------------------------------------------------------


def test_model_mismatch_is_refused_and_rebuild_switches_models(open_store, contexts, tokenizer, tmp_path, index_type):
    store = open_store()
    items = add_corpus(store, contexts, tokenizer, count=4)
    store.close()
    with pytest.raises(IndexModelMismatch) as error:
        open_store(model_name="other-model")
    message = str(error.value)
    assert MODEL in message and "other-model" in message and "spanqa index rebuild" in message
    with pytest.raises(IndexModelMismatch):
        open_store(dimension=DIM * 2)

    rebuilding = FaissSqliteStore.open_for_rebuild(
        tmp_path / "data", model_name="other-model", dimension=DIM * 2, index_type=index_type
    )
    try:
        assert (rebuilding.model_name, rebuilding.dimension) == (MODEL, DIM)
        rebuilding.rebuild_vectors("other-model", DIM * 2, lambda texts: text_vectors(texts, DIM * 2), batch_size=7)
    finally:
        rebuilding.close()
    with pytest.raises(IndexModelMismatch):
        open_store()
    switched = open_store(model_name="other-model", dimension=DIM * 2)
    switched.check()
    chunk = items["doc-2"][1][0]
    hit, score = switched.search(text_vectors([chunk.text], DIM * 2)[0], 1)[0]
    assert hit.text == chunk.text and score == pytest.approx(1.0, abs=1e-5)
