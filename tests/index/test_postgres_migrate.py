"""`index.store.migrate`: SQLite + FAISS -> PostgreSQL -> SQLite + FAISS keeps everything, searches alike."""

from __future__ import annotations

from dataclasses import replace

import pytest

from errors import IndexError_
from index.store import StoreConfig, open_store
from index.store.migrate import location_config, migrate
from index.types import Page
from tests.index.store_contract import CORPUS, DIM, feedback_on, fill, item, unit_vector


def snapshot(store) -> dict:
    """What must survive a copy: documents as stored, chunk texts and offsets, vectors, search results."""
    documents = {}
    for info in store.list_documents(limit=1000):
        document = store.get_document(info.id)
        chunks = store.chunks_of(info.id)
        vectors = store.chunk_vectors([c.id for c in chunks])
        documents[info.id] = (
            document,
            [(c.start, c.end, c.page, c.text) for c in chunks],
            [vectors[c.id].round(6).tolist() for c in chunks],
        )
    questions = ["Where does the Rhine flow?", "Which part is XQ7731B?", "the capital of Poland"]
    searches = [[(c.doc_id, c.start, round(s, 5)) for c, s in store.search(unit_vector(q), 6)] for q in questions] + [
        [store.get_chunks([i])[0].doc_id for i, _ in store.keyword.search(q, 5)] for q in questions
    ]
    feedback = [replace(f, id=0) for f in store.feedback.list_page(0, 1000)]
    order = [i.id for i in store.list_documents(limit=1000)]
    return {"documents": documents, "order": order, "searches": searches, "feedback": feedback}


def test_sqlite_to_postgres_and_back_keeps_everything(tmp_path, postgres_url):
    source = open_store(StoreConfig(tmp_path / "a", DIM, "test-model"))
    fill(source)
    text = "Page one text. Page two text. Ünïcødé on page three 🚀."
    pages = [Page(1, 0, 15), Page(2, 15, 30), Page(3, 30, len(text))]
    source.add(*item("paged", text, pages=pages, metadata={"lang": "en", "n": [1, 2.5]}, source="/x.pdf"))
    source.feedback.add(feedback_on(source, "valve", 30, 37))
    source.feedback.add(feedback_on(source, "paged", 30, 37, verdict="wrong", correction="no_answer", created_at=2e9))
    before = snapshot(source)
    source.close()

    there = migrate(location_config(tmp_path / "a"), location_config(postgres_url), batch_size=2)
    assert (there.documents, there.chunks, there.vectors) == (len(CORPUS) + 1, 2 * len(CORPUS) + 3, 2 * len(CORPUS) + 3)
    assert (there.model_name, there.dimension) == ("test-model", DIM)
    back = migrate(location_config(postgres_url), location_config(tmp_path / "b"))
    assert (back.documents, back.chunks) == (there.documents, there.chunks)
    assert there.feedback == back.feedback == 2

    for config in (
        StoreConfig(tmp_path, DIM, "test-model", database_url=postgres_url),
        StoreConfig(tmp_path / "b", DIM, "test-model"),
    ):
        store = open_store(config)  # the copies carry the source's model: opening with it is accepted
        try:
            assert snapshot(store) == before
            assert store.verify() == []
        finally:
            store.close()


def test_a_target_that_holds_documents_is_refused(tmp_path, postgres_url):
    source = open_store(StoreConfig(tmp_path / "a", DIM, "test-model"))
    fill(source)
    source.close()
    migrate(location_config(tmp_path / "a"), location_config(postgres_url))
    with pytest.raises(IndexError_, match="already holds documents"):
        migrate(location_config(tmp_path / "a"), location_config(postgres_url))


def test_the_migrate_command_copies_the_configured_index(tmp_path, postgres_url, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from qa.migrate_command import migrate_command
    from qa.settings import get_settings

    source = open_store(StoreConfig(tmp_path / "data", DIM, "test-model"))
    fill(source)
    source.close()
    app = typer.Typer()
    app.command()(migrate_command)
    monkeypatch.setenv("SPANQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SPANQA_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["--to", postgres_url])
        assert result.exit_code == 0, result.output
        assert f"copied {len(CORPUS)} documents, {2 * len(CORPUS)} chunks" in result.output
        again = CliRunner().invoke(app, ["--to", postgres_url])
        assert again.exit_code == 1 and "already holds documents" in again.output
    finally:
        get_settings.cache_clear()


def test_every_collection_is_copied_into_its_own(tmp_path, postgres_url):
    from index.store.collections import create_collection, list_collections
    from index.store.migrate import migrate_collections

    def open_in(location, collection: str):
        config = location_config(location)
        return open_store(replace(config, collection=collection, dimension=DIM, model_name="test-model"))

    source = open_store(StoreConfig(tmp_path / "a", DIM, "test-model"))
    fill(source)
    source.close()
    create_collection(tmp_path / "a", "team-a")
    create_collection(tmp_path / "a", "never-written")  # made, never opened: copied empty
    team = open_in(tmp_path / "a", "team-a")
    team.add(*item("valve", "Team A's own valve note: part XQ7731B is blue."))
    team.close()

    reports = dict(migrate_collections(location_config(tmp_path / "a"), location_config(postgres_url)))
    assert list(reports) == ["default", "never-written", "team-a"]
    assert (reports["default"].documents, reports["team-a"].documents, reports["never-written"].documents) == (
        len(CORPUS),
        1,
        0,
    )
    assert list_collections(tmp_path, postgres_url) == ["default", "never-written", "team-a"]
    back = dict(migrate_collections(location_config(postgres_url), location_config(tmp_path / "b")))
    assert {name: r.documents for name, r in back.items()} == {n: r.documents for n, r in reports.items()}
    copy = open_in(tmp_path / "b", "team-a")
    try:
        assert [i.id for i in copy.list_documents(limit=10)] == ["valve"]
        assert "Team A" in copy.get_document("valve").text
    finally:
        copy.close()
