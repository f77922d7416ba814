"""The key store contract: what every backend's `KeyStore` must do (a pytest mixin; fixture `key_store`)."""

from __future__ import annotations

import pytest

from index.store import AuditEntry, KeyRecord


def record(key_id: str, role: str = "reader", at: float = 1.0) -> KeyRecord:
    return KeyRecord(id=key_id, name=f"name {key_id}", role=role, salt="ab" * 16, digest="cd" * 32, created_at=at)


class KeyStoreContractTests:
    def test_a_key_is_stored_and_read_back_as_written(self, key_store):
        key = KeyRecord("k1", "ci bot", "writer", "00" * 16, "ff" * 32, 5.0, None, ("default", "team-a"))
        key_store.add_key(key)
        assert key_store.get_key("k1") == key
        assert key_store.get_key("nope") is None

    def test_keys_are_listed_oldest_first_and_counted_until_revoked(self, key_store):
        key_store.add_key(record("b", at=2.0))
        key_store.add_key(record("a", role="admin", at=1.0))
        assert [k.id for k in key_store.list_keys()] == ["a", "b"]
        assert key_store.count_active_keys() == 2
        assert key_store.revoke_key("a", at=9.0) is True
        assert key_store.revoke_key("a", at=10.0) is False  # already revoked: the first time stays
        assert key_store.revoke_key("missing", at=10.0) is False
        assert key_store.get_key("a").revoked_at == 9.0
        assert key_store.count_active_keys() == 1

    def test_a_duplicate_key_id_is_refused(self, key_store):
        key_store.add_key(record("same"))
        with pytest.raises(ValueError):
            key_store.add_key(record("same", role="admin"))
        assert key_store.get_key("same").role == "reader"

    def test_the_audit_log_lists_newest_first_with_paging(self, key_store):
        for i in range(5):
            key_store.add_audit(AuditEntry(at=float(i), actor=f"key{i}", action="document.add", target=f"doc{i}"))
        newest = key_store.list_audit(limit=2)
        assert [e.target for e in newest] == ["doc4", "doc3"]
        assert [e.target for e in key_store.list_audit(offset=3, limit=10)] == ["doc1", "doc0"]
        assert newest[0] == AuditEntry(4.0, "key4", "document.add", "doc4")

    def test_a_deleted_collection_is_taken_out_of_every_key(self, key_store):
        key_store.add_key(KeyRecord("k1", "a", "reader", "00" * 16, "ff" * 32, 1.0, None, ("default", "team-a")))
        key_store.add_key(KeyRecord("k2", "b", "writer", "00" * 16, "ff" * 32, 2.0, None, ("team-a",)))
        key_store.add_key(KeyRecord("k3", "c", "admin", "00" * 16, "ff" * 32, 3.0, None, ("*",)))
        assert key_store.remove_collection("team-a") == 2
        assert [k.collections for k in key_store.list_keys()] == [("default",), (), ("*",)]
        assert key_store.remove_collection("team-a") == 0

    def test_audit_entries_name_their_collection(self, key_store):
        key_store.add_audit(AuditEntry(1.0, "key:a", "POST /collections/{collection}/documents", "/x", "team-a"))
        key_store.add_audit(AuditEntry(2.0, "cli", "key.create", "k1 (reader)"))
        assert [e.collection for e in key_store.list_audit()] == ["", "team-a"]
