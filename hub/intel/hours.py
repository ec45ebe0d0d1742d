"""Hour buckets for the flow checks' counts: SQL that truncates a timestamp to its hour (UTC),
and the bucket read back as an aware datetime.

Usage:
    h = hour_of(Document.created_at, "sqlite")
    rows = s.execute(select(h, func.count()).group_by(h))
    as_hour(rows[0][0])   # datetime(2026, 12, 7, 9, tzinfo=UTC)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func

__all__ = ["as_hour", "hour_of"]


def hour_of(col: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.date_trunc("hour", col)
    return func.strftime("%Y-%m-%d %H:00:00", col)


def as_hour(value: Any) -> datetime:
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(minute=0, second=0, microsecond=0, tzinfo=moment.tzinfo or UTC)
