"""Tables of reconciliation: one row per run of a reconciliation job.

reconcile_runs  job, how it was started, when it started and finished, how many records
                were checked, matched and mismatched, and each mismatch with its case
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.storage.tables import Base, Id, utcnow

__all__ = ["ReconcileRun"]


class ReconcileRun(Base):
    __tablename__ = "reconcile_runs"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(40))  # sales_orders | billing | all
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | api | cli
    actor: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | finished | failed
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    checked: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    mismatched: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (Index("ix_reconcile_runs_started", "started_at"),)
