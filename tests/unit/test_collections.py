"""qa.collections over real stores with the fake models: the CLI's functions (list / create / delete,
keys losing a deleted collection), pipelines of other collections sharing the models and micro-batcher,
the server's registry, and keys scoped to collections."""

from __future__ import annotations

import pytest

from errors import CollectionConflict, CollectionNotFound, InvalidRequest
from index.store import open_key_store
from qa.collections import (
    CollectionInfo,
    CollectionRegistry,
    collection_exists,
    create_collection,
    delete_collection,
    list_collections,
)
from qa.keys import KeyService, may_use
from qa.pipeline import NewDocument
from tests.fakes import fake_pipeline, fast_settings

TEXT = "The Velmar canal was dug by Ada Quist in 1833. It joins the Orrin and the Selk."


def test_list_create_and_delete(tmp_path):
    settings = fast_settings(tmp_path / "data")
    assert list_collections(settings) == [CollectionInfo("default", 0, 0)]
    assert create_collection(settings, "team-b") == CollectionInfo("team-b", 0, 0)
    create_collection(settings, "team-a")
    assert [c.name for c in list_collections(settings)] == ["default", "team-a", "team-b"]
    with pytest.raises(CollectionConflict):
        create_collection(settings, "team-a")
    with pytest.raises(InvalidRequest):
        create_collection(settings, "Team A")
    with pytest.raises(CollectionConflict):
        delete_collection(settings, "default")
    with pytest.raises(CollectionNotFound):
        delete_collection(settings, "nope")
    delete_collection(settings, "team-b")
    assert [c.name for c in list_collections(settings)] == ["default", "team-a"]
    assert collection_exists(settings, "team-a") and not collection_exists(settings, "team-b")


def test_a_collections_pipeline_shares_the_models_and_counts_its_own_documents(tmp_path):
    default = fake_pipeline(tmp_path / "data", memory=False, batch_max_questions=4)
    create_collection(default.settings, "canals")
    canals = default.in_collection("canals")
    try:
        assert canals.collection == "canals" and canals.settings.data_dir == default.settings.data_dir
        canals.ingest(NewDocument(text=TEXT, id="velmar"))
        cited = canals.ask("Who dug the Velmar canal?").answers[0].citation
        assert cited.doc_id == "velmar" and TEXT[cited.start : cited.end] == cited.text
        assert default.count_documents() == 0 and default.ask("Who dug the Velmar canal?").answers == []
        assert list_collections(default.settings)[0] == CollectionInfo("canals", 1, canals.count_chunks())
        assert default.batch_stats()["items"] >= 1  # the canals question went through the shared batcher
    finally:
        canals.close()
    assert default.ask("Who dug the Velmar canal?").passages == []  # the shared batcher outlives the sibling
    default.close()
    with pytest.raises(CollectionNotFound):
        default.in_collection("missing")


def test_the_registry_opens_on_use_and_deletes_with_the_keys(tmp_path):
    default = fake_pipeline(tmp_path / "data", memory=False)
    keys = open_key_store(default.settings.data_dir)
    opened, closed = [], []
    registry = CollectionRegistry(default, keys, on_open=opened.append, on_close=closed.append)
    try:
        assert registry.get("default") is default
        with pytest.raises(CollectionNotFound):
            registry.get("later")
        create_collection(default.settings, "later")  # as the CLI would, beside the server
        later = registry.get("later")
        assert registry.get("later") is later and opened == [later]
        assert registry.create("fresh") == CollectionInfo("fresh", 0, 0)
        service = KeyService(keys, lambda name: collection_exists(default.settings, name))
        holder = service.create("holder", "reader", ["later", "fresh"]).record
        registry.delete("later")
        assert closed == [later] and keys.get_key(holder.id).collections == ("fresh",)
        assert registry.names() == ["default", "fresh"]
        with pytest.raises(CollectionConflict):
            registry.delete("default")
        with pytest.raises(InvalidRequest):
            registry.get("../default")
    finally:
        registry.close()
        default.close()


def test_keys_name_existing_collections_and_admins_use_all(tmp_path):
    settings = fast_settings(tmp_path / "data")
    create_collection(settings, "team-a")
    service = KeyService(open_key_store(settings.data_dir), lambda name: collection_exists(settings, name))
    assert service.create("r", "reader").record.collections == ("default",)
    assert service.create("a", "admin").record.collections == ("*",)
    assert service.create("w", "writer", ["team-a", "team-a", "*"]).record.collections == ("team-a", "*")
    with pytest.raises(InvalidRequest, match="no collection 'team-b'"):
        service.create("x", "reader", ["team-b"])
    with pytest.raises(InvalidRequest):
        service.create("x", "reader", ["Bad Name"])
    assert may_use("admin", ("default",), "team-a") and may_use("reader", ("*",), "anything")
    assert may_use("reader", ("team-a",), "team-a") and not may_use("writer", ("team-a",), "default")
