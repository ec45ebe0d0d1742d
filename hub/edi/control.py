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

from typing import cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.storage.edi_tables import EdiControlNumber

__all__ = ["KINDS", "next_control_number"]

KINDS = ("isa", "gs", "st", "unb", "unh")
_WRAP = {"isa": 999_999_999, "gs": 999_999_999, "st": 9999, "unb": 99_999_999_999_999,
         "unh": 99_999_999_999_999}


# Built once, on the table (not the ORM entity): it runs three times for every acknowledgment
# the hub writes, and building an ORM update costs more than running it.
_TABLE = cast(Table, EdiControlNumber.__table__)
_NEXT = (update(_TABLE).where(_TABLE.c.partner_id == bindparam("b_partner"), _TABLE.c.kind == bindparam("b_kind"))
         .values(value=_TABLE.c.value % bindparam("b_wrap") + 1).returning(_TABLE.c.value))


def next_control_number(session: Session, partner_id: str, kind: str) -> int:
    """The next number of ``kind`` for ``partner_id``, in the caller's transaction."""
    wrap = _WRAP.get(kind, 999_999_999)
    for _ in range(3):
        value = session.execute(_NEXT, {"b_partner": partner_id, "b_kind": kind, "b_wrap": wrap}).scalar()
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
