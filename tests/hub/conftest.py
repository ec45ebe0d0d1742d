"""Fixtures of the hub's in-process tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.storage.db import Database
from hub.storage.migrate import upgrade


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The hub's database, migrated to the latest schema (SQLite and PostgreSQL)."""
    upgrade(database_url)
    database = Database(database_url)
    try:
        yield database
    finally:
        database.dispose()
