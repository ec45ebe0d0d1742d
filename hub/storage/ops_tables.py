"""Tables of the operations features: reference data, case history, dead-letter edits.

reference_data    items, customers, price lists, stock and units imported by
                  ``crossdock refdata import`` (one row per record, the record as JSON)
case_events       every change to a case: opened, assigned, commented, approved, resolved ...
dead_letter_edits edits made before a replay: editor, reason, the diff, old and new receipt
ship_notice_orders the purchase orders each received ship notice ships against (a notice may
                  ship several), for looking the earlier notices of an order up by index
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.storage.tables import Base, Id, utcnow

__all__ = ["CaseEvent", "DeadLetterEdit", "RefRecord", "ShipNoticeOrder"]


class RefRecord(Base):
    __tablename__ = "reference_data"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # units | items | customers | price_lists | stock
    key: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column()
    source: Mapped[str | None] = mapped_column(String(400))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_reference_data_kind_key"),)


class CaseEvent(Base):
    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (Index("ix_case_events_case", "case_id"),)


class DeadLetterEdit(Base):
    __tablename__ = "dead_letter_edits"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    dead_letter_id: Mapped[int] = mapped_column(ForeignKey("dead_letters.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    editor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # raw | canonical
    from_inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    to_inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    diff: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("ix_dead_letter_edits_dl", "dead_letter_id"),)


class ShipNoticeOrder(Base):
    """One row per (received ship notice, PO number on it); written with the document
    (``hub.ops.hooks.after_accept``), read by ``hub.ops.history.DbHistory.ship_notices_for``."""

    __tablename__ = "ship_notice_orders"
    document_id: Mapped[int] = mapped_column(Id, ForeignKey("documents.id"), primary_key=True, autoincrement=False)
    po_number: Mapped[str] = mapped_column(String(80), primary_key=True)
    __table_args__ = (Index("ix_ship_notice_orders_po", "po_number"),)
