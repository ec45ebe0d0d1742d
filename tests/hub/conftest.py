"""Fixtures of the hub's in-process tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.storage.db import Database
from tests.support.services import postgres_database, sqlite_database


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The hub's database, at the latest schema (SQLite and PostgreSQL; ``database_url`` is migrated)."""
    database = Database(database_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables yet, for tests of migrating from nothing."""
    if request.param == "sqlite":
        yield sqlite_database(tmp_path / "empty.db", migrated=False)
    else:
        with postgres_database(migrated=False) as url:
            yield url


@pytest.fixture
def pg_db() -> Iterator[Database]:
    """A fresh migrated PostgreSQL database of its own (tests that drive two processors on one)."""
    with postgres_database() as url:
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()
