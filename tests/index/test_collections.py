"""Collections in the store layer: the store contract on a collection other than `default` on every
backend, isolation between collections holding the same document ids, and list / create / drop
(SQLite directories, PostgreSQL schemas, migrations exact to a collection's own schema)."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from errors import CollectionConflict, CollectionNotFound, InvalidRequest
from index.store import StoreConfig, open_store
from index.store.collections import (
    check_collection_name,
    collection_counts,
    collection_dir,
    collection_exists,
    create_collection,
    drop_collection,
    list_collections,
)
from index.store.jobs import NewJobFile
from index.store.postgres_schema import SCHEMA_VERSION, applied_version
from tests.index.store_contract import DIM, StoreContractTests, feedback_on, item, unit_vector


class TestMemoryCollectionStore(StoreContractTests):
    @pytest.fixture
    def store(self, tmp_path):
        store = open_store(StoreConfig(tmp_path, DIM, "test", backend="memory", collection="team-a"))
        yield store
        store.close()

    @pytest.fixture
    def open_read_only(self):
        return None


class TestFaissSqliteCollectionStore(StoreContractTests):
    @pytest.fixture
    def store(self, tmp_path):
        create_collection(tmp_path / "data", "team-a")
        store = open_store(StoreConfig(tmp_path / "data", DIM, "test", collection="team-a"))
        yield store
        store.close()

    @pytest.fixture
    def open_read_only(self, tmp_path):
        opened = []

        def open_():
            config = StoreConfig(tmp_path / "data", DIM, "test", read_only=True, collection="team-a")
            opened.append(open_store(config))
            return opened[-1]

        yield open_
        for store in opened:
            store.close()


class TestPostgresCollectionStore(StoreContractTests):
    """The default collection's tables exist in public first, as on any database a server has used."""

    @pytest.fixture
    def store(self, tmp_path, postgres_url):
        open_store(StoreConfig(tmp_path, DIM, "test", database_url=postgres_url)).close()
        create_collection(tmp_path, "team-a", postgres_url)
        store = open_store(StoreConfig(tmp_path, DIM, "test", database_url=postgres_url, collection="team-a"))
        yield store
        store.close()

    @pytest.fixture
    def open_read_only(self, tmp_path, postgres_url):
        opened = []

        def open_():
            config = StoreConfig(tmp_path, DIM, "test", database_url=postgres_url, read_only=True, collection="team-a")
            opened.append(open_store(config))
            return opened[-1]

        yield open_
        for store in opened:
            store.close()


# ---- isolation ------------------------------------------------------------------------------------

SAME_IDS = {
    "alpha": ("The Rhine flows through Basel and Cologne. Barges carry coal.", "Warsaw is the capital of Poland."),
    "beta": ("Norman castles were built of stone. The keep was the tower.", "Packets are routed on their own."),
}


@pytest.fixture(params=["sqlite-faiss", "postgres"])
def two_collections(request, tmp_path):
    """Stores of collections `default` and `team-a`, holding the same document ids with other texts."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    data_dir = tmp_path / "data"
    configs = [StoreConfig(data_dir, DIM, "test", database_url=url, collection=c) for c in ("default", "team-a")]
    default = open_store(configs[0])
    create_collection(data_dir, "team-a", url)
    team = open_store(configs[1])
    default.add_many([item(doc_id, texts[0], metadata={"owner": "default"}) for doc_id, texts in SAME_IDS.items()])
    team.add_many([item(doc_id, texts[1], metadata={"owner": "team-a"}) for doc_id, texts in SAME_IDS.items()])
    yield default, team, data_dir, url
    default.close()
    team.close()


def test_collections_with_the_same_ids_never_see_each_other(two_collections):
    default, team, data_dir, url = two_collections
    for store, index, owner in ((default, 0, "default"), (team, 1, "team-a")):
        texts = {doc_id: texts[index] for doc_id, texts in SAME_IDS.items()}
        assert {d.id: d.metadata["owner"] for d in store.list_documents()} == {"alpha": owner, "beta": owner}
        assert {doc_id: store.get_document(doc_id).text for doc_id in texts} == texts
        own_chunks = {c.text for doc_id in texts for c in store.chunks_of(doc_id)}
        assert own_chunks and all(any(c in text for text in texts.values()) for c in own_chunks)
        everything = [c for c, _ in store.search(unit_vector("anything at all"), k=100)]
        assert {c.text for c in everything} == own_chunks
        filtered = store.search(unit_vector("x"), k=100, doc_ids=["alpha"])
        assert {c.text for c, _ in filtered} <= {c.text for c in store.chunks_of("alpha")}
        assert set(store.doc_ids_matching({"owner": owner})) == {"alpha", "beta"}
        assert store.doc_ids_matching({"owner": "team-a" if owner == "default" else "default"}) == []
        for word in ("Rhine", "Warsaw", "castles", "Packets"):
            hits = store.keyword.search(word, 10)
            stored = {c.id: c.text for c in store.get_chunks([chunk_id for chunk_id, _ in hits])}
            assert all(chunk_text in own_chunks for chunk_text in stored.values())
            assert bool(hits) == any(word in text for text in texts.values())
        assert (store.count_documents(), store.count_chunks()) == (2, len(own_chunks))
    counts = {name: collection_counts(data_dir, name, url) for name in ("default", "team-a")}
    assert (counts["default"].documents, counts["team-a"].documents) == (2, 2)


def test_feedback_and_jobs_stay_in_their_collection(two_collections):
    default, team, _, _ = two_collections
    team.feedback.add(feedback_on(team, "alpha", 0, 6))
    team.jobs.create_job("job-1", [NewJobFile("a.txt", "000000")], {}, 1.0)
    assert (team.feedback.count(), default.feedback.count()) == (1, 0)
    assert default.jobs.get_job("job-1") is None and default.jobs.count_jobs() == 0
    assert default.jobs.start_next_job(now=2.0) is None
    assert team.jobs.start_next_job(now=2.0).id == "job-1"


def test_a_dropped_collection_is_gone_and_a_new_one_of_its_name_starts_empty(two_collections):
    default, team, data_dir, url = two_collections
    team.close()
    drop_collection(data_dir, "team-a", url)
    assert list_collections(data_dir, url) == ["default"] and not collection_exists(data_dir, "team-a", url)
    with pytest.raises(CollectionNotFound):
        open_store(StoreConfig(data_dir, DIM, "test", database_url=url, collection="team-a"))
    with pytest.raises(CollectionNotFound):
        drop_collection(data_dir, "team-a", url)
    create_collection(data_dir, "team-a", url)
    again = open_store(StoreConfig(data_dir, DIM, "test", database_url=url, collection="team-a"))
    try:
        assert again.count_documents() == 0 and again.feedback.count() == 0
        assert default.count_documents() == 2  # the default collection kept everything
    finally:
        again.close()


# ---- names, listing, creation ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "Team", "-a", "_a", "a" * 41, "a/b", "a.b", "ä", "a b", "../x", None, 3])
def test_bad_names_are_refused(name):
    with pytest.raises(InvalidRequest):
        check_collection_name(name)


@pytest.mark.parametrize("name", ["default", "a", "team-a", "x_1", "0", "a" * 40])
def test_good_names(name):
    assert check_collection_name(name) == name


def test_sqlite_collections_live_in_their_own_directories(tmp_path):
    data_dir = tmp_path / "data"
    assert list_collections(data_dir) == ["default"] and collection_dir(data_dir, "default") == data_dir
    for name in ("zeta", "alpha"):
        create_collection(data_dir, name)
    assert list_collections(data_dir) == ["alpha", "default", "zeta"]
    assert collection_dir(data_dir, "zeta") == data_dir / "collections" / "zeta"
    assert collection_counts(data_dir, "zeta").documents == 0  # created, never written
    with pytest.raises(CollectionConflict):
        create_collection(data_dir, "zeta")
    with pytest.raises(CollectionConflict):
        create_collection(data_dir, "default")
    with pytest.raises(CollectionConflict):
        drop_collection(data_dir, "default")


def test_a_sqlite_collection_open_for_writing_is_not_dropped(tmp_path):
    create_collection(tmp_path, "busy")
    store = open_store(StoreConfig(tmp_path, DIM, "test", collection="busy"))
    try:
        store.add(*item("x", "Kept while open. Really."))
        with pytest.raises(CollectionConflict):
            drop_collection(tmp_path, "busy")
        assert store.count_documents() == 1 and store.still_exists()
    finally:
        store.close()
    drop_collection(tmp_path, "busy")
    assert not (tmp_path / "collections" / "busy").exists()


def test_postgres_collections_are_schemas_migrated_on_their_own(tmp_path, postgres_url):
    """A collection's migrations look only at its own schema: public's `schema_version` (fully migrated)
    must not make a new collection look migrated."""
    open_store(StoreConfig(tmp_path, DIM, "test", database_url=postgres_url)).close()
    create_collection(tmp_path, "team-a", postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert applied_version(conn, "public") == SCHEMA_VERSION
        assert applied_version(conn, "spanqa_c_team-a") is None
    store = open_store(StoreConfig(tmp_path, DIM, "test", database_url=postgres_url, collection="team-a"))
    try:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            assert applied_version(conn, "spanqa_c_team-a") == SCHEMA_VERSION
            tables = {
                r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'spanqa_c_team-a'")
            }
            extension = conn.execute(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                " WHERE e.extname = 'vector'"
            ).fetchone()
        assert {"documents", "chunks", "chunk_terms", "feedback", "jobs", "spanqa_meta"} <= tables
        assert extension == ("public",)  # dropping a collection never takes pgvector with it
        store.add(*item("x", "A row in the collection's schema. Only there."))
        assert collection_counts(tmp_path, "team-a", postgres_url).documents == 1
        assert collection_counts(tmp_path, "default", postgres_url).documents == 0
    finally:
        store.close()


def test_a_postgres_store_knows_its_collection_was_dropped_or_made_again(tmp_path, postgres_url):
    open_store(StoreConfig(tmp_path, DIM, "test", database_url=postgres_url)).close()
    create_collection(tmp_path, "team-a", postgres_url)
    store = open_store(StoreConfig(tmp_path, DIM, "test", database_url=postgres_url, collection="team-a"))
    try:
        assert store.still_exists()
        drop_collection(tmp_path, "team-a", postgres_url)
        assert not store.still_exists()
        create_collection(tmp_path, "team-a", postgres_url)
        assert not store.still_exists()  # another schema under the same name
    finally:
        store.close()


def test_a_fresh_postgres_database_gets_pgvector_in_public_even_from_a_collection(tmp_path, postgres_url):
    create_collection(tmp_path, "first", postgres_url)
    store = open_store(StoreConfig(tmp_path, DIM, "test", database_url=postgres_url, collection="first"))
    try:
        store.add(*item("x", "First words. Second words."))
        assert [c.doc_id for c, _ in store.search(np.asarray(unit_vector("First words. ")), k=1)] == ["x"]
    finally:
        store.close()
    drop_collection(tmp_path, "first", postgres_url)
    default = open_store(StoreConfig(tmp_path, DIM, "test", database_url=postgres_url))
    try:
        default.add(*item("y", "Still works after the drop. Yes."))
        assert default.count_documents() == 1
    finally:
        default.close()
