"""The audit log: who did what, when and why. Written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.storage.tables import AuditEntry

__all__ = ["record_audit"]


def record_audit(session: Session, *, actor: str, action: str, target_type: str,
                 target_id: str | int | None, reason: str | None = None,
                 details: dict[str, Any] | None = None) -> AuditEntry:
    entry = AuditEntry(actor=actor, action=action, target_type=target_type,
                       target_id=None if target_id is None else str(target_id), reason=reason,
                       details=details or {})
    session.add(entry)
    return entry
