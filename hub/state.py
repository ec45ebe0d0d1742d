"""Connector state and leases in the database (implements ``connectors.base.StateStore``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from hub.storage.db import Database
from hub.storage.tables import ConnectorState, utcnow

__all__ = ["DatabaseStateStore"]


class DatabaseStateStore:
    """Usage: ``store = DatabaseStateStore(db); store.put_state("poll:ACME", {"cursor": "abc"})``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get_state(self, key: str) -> dict[str, Any] | None:
        with self.db.reader() as s:
            row = s.get(ConnectorState, key)
            return dict(row.value) if row is not None else None

    def put_state(self, key: str, value: dict[str, Any]) -> None:
        with self.db.session() as s:
            row = s.get(ConnectorState, key)
            if row is None:
                s.add(ConnectorState(key=key, value=dict(value)))
            else:
                row.value = dict(value)

    def try_lease(self, key: str, owner: str, ttl_seconds: float) -> bool:
        now = utcnow()
        until = now + timedelta(seconds=ttl_seconds)
        with self.db.session() as s:
            taken = s.execute(  # type: ignore[attr-defined]  # DML results carry rowcount
                update(ConnectorState)
                .where(ConnectorState.key == key,
                       or_(ConnectorState.lease_owner.is_(None), ConnectorState.lease_owner == owner,
                           ConnectorState.lease_until < now))
                .values(lease_owner=owner, lease_until=until)
            ).rowcount
            if taken:
                return True
            if s.get(ConnectorState, key) is not None:
                return False
        try:
            with self.db.session() as s:
                s.add(ConnectorState(key=key, value={}, lease_owner=owner, lease_until=until))
            return True
        except IntegrityError:
            return False  # another node created it first and holds the lease

    def release_lease(self, key: str, owner: str) -> None:
        with self.db.session() as s:
            s.execute(
                update(ConnectorState)
                .where(ConnectorState.key == key, ConnectorState.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
