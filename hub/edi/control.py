"""Control numbers per partner pair: persisted, never reused, safe under concurrency.

One row per (partner, kind). ``UPDATE … SET value = value + 1 … RETURNING value`` takes
the row lock (PostgreSQL) or runs under the writer lock (SQLite, ``BEGIN IMMEDIATE``), so
two workers never get the same number; the first use inserts the row, and a racing
insert falls back to the update.

Usage:
    with db.session() as s:
        isa13 = next_control_number(s, "ACME", "isa")     # 1, 2, 3, ...
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.storage.edi_tables import EdiControlNumber

__all__ = ["KINDS", "next_control_number"]

KINDS = ("isa", "gs", "st", "unb", "unh")
_WRAP = {"isa": 999_999_999, "gs": 999_999_999, "st": 9999, "unb": 99_999_999_999_999,
         "unh": 99_999_999_999_999}


def next_control_number(session: Session, partner_id: str, kind: str) -> int:
    """The next number of ``kind`` for ``partner_id``, in the caller's transaction."""
    wrap = _WRAP.get(kind, 999_999_999)
    for _ in range(3):
        value = session.execute(
            update(EdiControlNumber)
            .where(EdiControlNumber.partner_id == partner_id, EdiControlNumber.kind == kind)
            .values(value=EdiControlNumber.value % wrap + 1)
            .returning(EdiControlNumber.value)
        ).scalar()
        if value is not None:
            return int(value)
        try:
            with session.begin_nested():
                session.add(EdiControlNumber(partner_id=partner_id, kind=kind, value=1))
                session.flush()
            return 1
        except IntegrityError:
            continue  # someone inserted it first: take the next one with the update
    raise RuntimeError(f"could not allocate a {kind} control number for {partner_id}")
