"""Every store backend against the store contract (tests/index/store_contract.py).

Each backend is a class here with its `store` and `open_read_only` fixtures.
"""

from __future__ import annotations

import pytest

from index.store import StoreConfig, open_key_store, open_store
from tests.index.key_store_contract import KeyStoreContractTests, record
from tests.index.store_contract import DIM, StoreContractTests


class TestMemoryStore(StoreContractTests):
    @pytest.fixture
    def store(self, tmp_path):
        store = open_store(StoreConfig(tmp_path, DIM, "test", backend="memory"))
        yield store
        store.close()

    @pytest.fixture
    def open_read_only(self):
        return None


@pytest.mark.parametrize("index_type", ["flat", "hnsw"], indirect=False)
class TestFaissSqliteStore(StoreContractTests):
    @pytest.fixture
    def store(self, tmp_path, index_type):
        store = open_store(StoreConfig(tmp_path / "data", DIM, "test", index_type=index_type))
        yield store
        store.close()

    @pytest.fixture
    def open_read_only(self, tmp_path, index_type):
        opened = []

        def open_():
            opened.append(
                open_store(StoreConfig(tmp_path / "data", DIM, "test", index_type=index_type, read_only=True))
            )
            return opened[-1]

        yield open_
        for store in opened:
            store.close()


class TestPostgresStore(StoreContractTests):
    """PostgreSQL + pgvector (a real server, tests/pg_fixtures.py); a fresh database per test."""

    @pytest.fixture
    def store(self, tmp_path, postgres_url):
        store = open_store(StoreConfig(tmp_path, DIM, "test", database_url=postgres_url))
        yield store
        store.close()

    @pytest.fixture
    def open_read_only(self, tmp_path, postgres_url):
        opened = []

        def open_():
            opened.append(open_store(StoreConfig(tmp_path, DIM, "test", database_url=postgres_url, read_only=True)))
            return opened[-1]

        yield open_
        for store in opened:
            store.close()


class TestMemoryKeyStore(KeyStoreContractTests):
    @pytest.fixture
    def key_store(self, tmp_path):
        return open_key_store(tmp_path, backend="memory")


class TestSqliteKeyStore(KeyStoreContractTests):
    @pytest.fixture
    def key_store(self, tmp_path):
        return open_key_store(tmp_path / "data")

    def test_a_second_process_sees_writes_at_once(self, key_store, tmp_path):
        other = open_key_store(tmp_path / "data")  # as the CLI does beside a running server
        other.add_key(record("from-cli"))
        assert key_store.get_key("from-cli") is not None
        key_store.revoke_key("from-cli", at=3.0)
        assert other.get_key("from-cli").revoked_at == 3.0


class TestPostgresKeyStore(KeyStoreContractTests):
    @pytest.fixture
    def key_store(self, tmp_path, postgres_url):
        store = open_key_store(tmp_path, database_url=postgres_url)
        yield store
        store.close()

    def test_another_replica_sees_writes_at_once(self, key_store, tmp_path, postgres_url):
        other = open_key_store(tmp_path, database_url=postgres_url)
        try:
            other.add_key(record("from-cli"))
            assert key_store.get_key("from-cli") is not None
            key_store.revoke_key("from-cli", at=3.0)
            assert other.get_key("from-cli").revoked_at == 3.0
        finally:
            other.close()
