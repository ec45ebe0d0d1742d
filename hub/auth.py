"""API keys with roles. Keys are shown once and stored as sha256 (they are 256-bit random,
so a slow password hash adds nothing); a key is ``cdk_<prefix>_<secret>``.

Roles: viewer reads; operator also replays, discards and ingests; admin also manages keys
and partners; ingest may only post inbound documents (optionally for one partner).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.storage.tables import ApiKey, utcnow

__all__ = ["ROLES", "Principal", "authenticate", "create_key", "hash_key", "role_allows"]

ROLES = ("viewer", "operator", "admin", "ingest")
_RANK = {"ingest": 0, "viewer": 1, "operator": 2, "admin": 3}


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str
    partner_id: str | None = None
    key_id: int | None = None

    @property
    def actor(self) -> str:
        return f"apikey:{self.name}"


def role_allows(role: str, needed: str) -> bool:
    """``ingest`` is its own lane: it may ingest and nothing else; others rank viewer < operator < admin."""
    if needed == "ingest":
        return role in ("ingest", "operator", "admin")
    if role == "ingest":
        return False
    return _RANK[role] >= _RANK[needed]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, *, name: str, role: str, partner_id: str | None = None) -> tuple[ApiKey, str]:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    prefix = secrets.token_hex(4)
    key = f"cdk_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(name=name, role=role, partner_id=partner_id, prefix=prefix, key_hash=hash_key(key))
    session.add(row)
    session.flush()
    return row, key


def authenticate(session: Session, key: str) -> Principal | None:
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None)))
    if row is None:
        return None
    return Principal(row.name, row.role, row.partner_id, row.id)


def touch(session: Session, key_id: int) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow()))
