"""API keys: create (the key is shown once), list, revoke, verify. Roles reader < writer < admin.

A key reads `spanqa_<id>_<secret>`: the id finds the stored row, the secret (32 random bytes) is checked
against HMAC-SHA256(salt, secret) with a per-key random salt. A fast keyed hash is the standard choice
for high-entropy API keys (nothing to brute-force, unlike a password), and keeps a lookup per request
cheap; the stored row cannot give the key back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from errors import InvalidRequest
from index.store import KeyRecord, KeyStore
from index.store.collections import check_collection_name

ROLES = ("reader", "writer", "admin")
PREFIX = "spanqa"
_KEY_PATTERN = re.compile(r"^spanqa_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_NAME_MAX = 100


ALL_COLLECTIONS = "*"


def role_allows(role: str, needed: str) -> bool:
    """Whether a key of `role` may do what needs `needed` (reader < writer < admin)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def may_use(role: str, collections: Collection[str], collection: str) -> bool:
    """Whether a key of `role` listing `collections` may use `collection`: admins and `*` keys may use all."""
    return role == "admin" or ALL_COLLECTIONS in collections or collection in collections


def default_collections(role: str) -> tuple[str, ...]:
    """A new key's collections when none are named: every one for admins, else `default`."""
    return (ALL_COLLECTIONS,) if role == "admin" else ("default",)


@dataclass(frozen=True)
class NewKey:
    record: KeyRecord
    key: str  # the only time the whole key exists outside its holder's hands


def _digest(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode("ascii"), hashlib.sha256).hexdigest()


class KeyService:
    """`collection_exists` tells whether a collection a new key names exists (None: not checked)."""

    def __init__(self, store: KeyStore, collection_exists: Callable[[str], bool] | None = None) -> None:
        self.store = store
        self.collection_exists = collection_exists

    def create(self, name: str, role: str, collections: Sequence[str] | None = None) -> NewKey:
        """A new key of `role` for `collections` (`*`: every one; by default `default_collections(role)`);
        InvalidRequest for a bad name or role, or a collection that does not exist."""
        name = name.strip()
        if not name or len(name) > _NAME_MAX or not name.isprintable():
            raise InvalidRequest(f"a key name is 1 to {_NAME_MAX} printable characters")
        if role not in ROLES:
            raise InvalidRequest(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        chosen = self._checked_collections(collections) if collections else default_collections(role)
        key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_hex(16)
        record = KeyRecord(
            id=key_id,
            name=name,
            role=role,
            salt=salt,
            digest=_digest(salt, secret),
            created_at=time.time(),
            collections=chosen,
        )
        self.store.add_key(record)
        return NewKey(record, f"{PREFIX}_{key_id}_{secret}")

    def _checked_collections(self, collections: Sequence[str]) -> tuple[str, ...]:
        chosen: list[str] = []
        for collection in collections:
            if collection != ALL_COLLECTIONS:
                check_collection_name(collection)
                if self.collection_exists is not None and not self.collection_exists(collection):
                    raise InvalidRequest(f"no collection {collection!r}: create it before giving a key to it")
            if collection not in chosen:
                chosen.append(collection)
        return tuple(chosen)

    def list(self) -> list[KeyRecord]:
        return self.store.list_keys()

    def revoke(self, key_id: str) -> bool:
        return self.store.revoke_key(key_id, at=time.time())

    def verify(self, key: str) -> KeyRecord | None:
        """The active key this is, or None (malformed, unknown, revoked or a wrong secret)."""
        match = _KEY_PATTERN.match(key)
        if not match:
            return None
        record = self.store.get_key(match.group(1))
        if record is None or record.revoked_at is not None:
            return None
        if not hmac.compare_digest(record.digest, _digest(record.salt, match.group(2))):
            return None
        return record

    def any_active(self) -> bool:
        return self.store.count_active_keys() > 0
