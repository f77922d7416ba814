"""API keys and the audit log in memory (the memory backend's `KeyStore`)."""

from __future__ import annotations

import dataclasses
import threading

from index.store.protocol import AuditEntry, KeyRecord


class MemoryKeyStore:
    def __init__(self) -> None:
        self._keys: dict[str, KeyRecord] = {}
        self._audit: list[AuditEntry] = []
        self._lock = threading.Lock()

    def add_key(self, record: KeyRecord) -> None:
        with self._lock:
            if record.id in self._keys:
                raise ValueError(f"a key with id {record.id!r} exists")
            self._keys[record.id] = record

    def get_key(self, key_id: str) -> KeyRecord | None:
        return self._keys.get(key_id)

    def list_keys(self) -> list[KeyRecord]:
        return sorted(self._keys.values(), key=lambda k: (k.created_at, k.id))

    def revoke_key(self, key_id: str, at: float) -> bool:
        with self._lock:
            record = self._keys.get(key_id)
            if record is None or record.revoked_at is not None:
                return False
            self._keys[key_id] = dataclasses.replace(record, revoked_at=at)
            return True

    def count_active_keys(self) -> int:
        return sum(1 for k in self._keys.values() if k.revoked_at is None)

    def remove_collection(self, collection: str) -> int:
        with self._lock:
            holding = [k for k in self._keys.values() if collection in k.collections]
            for k in holding:
                kept = tuple(c for c in k.collections if c != collection)
                self._keys[k.id] = dataclasses.replace(k, collections=kept)
            return len(holding)

    def add_audit(self, entry: AuditEntry) -> None:
        with self._lock:
            self._audit.append(entry)

    def list_audit(self, offset: int = 0, limit: int = 100) -> list[AuditEntry]:
        newest_first = self._audit[::-1]
        return newest_first[offset : offset + limit]

    def close(self) -> None:
        """Nothing to release."""
