"""The audit log: who (a key id, or `addr:<client>` when auth is off) did what, to what, when."""

from __future__ import annotations

import time

from index.store import AuditEntry, KeyStore


class AuditLog:
    def __init__(self, store: KeyStore) -> None:
        self.store = store

    def record(self, actor: str, action: str, target: str, collection: str = "") -> AuditEntry:
        """`collection`: the collection written to ("" for key changes, which belong to none)."""
        entry = AuditEntry(at=time.time(), actor=actor, action=action, target=target, collection=collection)
        self.store.add_audit(entry)
        return entry

    def entries(self, offset: int = 0, limit: int = 100) -> list[AuditEntry]:
        return self.store.list_audit(offset=offset, limit=limit)
