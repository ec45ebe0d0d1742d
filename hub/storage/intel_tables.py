"""Tables of exception intelligence: trained models and every automated decision.

intel_models     one row per trained model version: its JSON artifact (never pickled, so a
                 stored model cannot run code), training window, metrics and status
intel_decisions  every prediction, priority adjustment, anomaly alert and agent decision with
                 its inputs, features, model version, confidence, policy, action, approver and
                 outcome: the audit trail ``GET /api/v1/cases/{id}/explanation`` reads
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.storage.tables import Base, Id, utcnow

__all__ = ["IntelDecision", "IntelModel"]


class IntelModel(Base):
    __tablename__ = "intel_models"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(40))  # sla_risk | priority
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | retired | failed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    examples: Mapped[int] = mapped_column(Integer, default=0)
    artifact: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("name", "version", name="uq_intel_models_name_version"),)


class IntelDecision(Base):
    __tablename__ = "intel_decisions"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))  # prediction | priority | anomaly | agent
    subject: Mapped[str] = mapped_column(String(300))  # what it is about, e.g. "855 for ACME/PO-1"
    dedupe_key: Mapped[str | None] = mapped_column(String(300))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    partner_id: Mapped[str | None] = mapped_column(String(64))
    agent: Mapped[str | None] = mapped_column(String(60))
    model_name: Mapped[str | None] = mapped_column(String(40))
    model_version: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20), default="rules")  # model | rules
    confidence: Mapped[float | None]
    value: Mapped[float | None]  # a probability or a score
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    action: Mapped[str | None] = mapped_column(String(80))
    # agent decisions: proposed | executed | awaiting_approval | refused | dry_run | rejected | undone | failed
    status: Mapped[str] = mapped_column(String(20), default="recorded")
    approved_by: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warning: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_intel_decisions_case", "case_id"),
                      Index("ix_intel_decisions_kind_key", "kind", "dedupe_key"),
                      Index("ix_intel_decisions_document", "document_id"))
