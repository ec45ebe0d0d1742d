"""A receipt's state as senders and engineers see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from hub.storage.tables import InboxEntry

__all__ = ["ReceiptState", "receipt_state"]

_PUBLIC = {"received": "queued", "retrying": "retrying", "processed": "processed",
           "duplicate": "already_seen", "failed": "dead_lettered", "case": "case"}


@dataclass(slots=True)
class ReceiptState:
    receipt_id: int
    status: str  # inbox status
    partner_id: str
    channel: str
    sha256: str
    outcome: dict[str, Any] = field(default_factory=dict)
    duplicate_of: int | None = None

    @property
    def document_ids(self) -> list[int]:
        return list(self.outcome.get("document_ids") or [])

    @property
    def document_id(self) -> int | None:
        ids = self.document_ids
        return ids[0] if ids else None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "receipt_id": self.receipt_id, "status": _PUBLIC.get(self.status, self.status),
            "partner": self.partner_id, "channel": self.channel, "sha256": self.sha256,
            "already_seen": self.status == "duplicate",
        }
        if self.document_ids:
            out["document_id"] = self.document_id
            out["document_ids"] = self.document_ids
        if self.duplicate_of:
            out["original_receipt_id"] = self.duplicate_of
        for key in ("dead_letter_id", "case_id", "stage", "error", "code", "message", "next_attempt_in",
                    "original_status"):
            if self.outcome.get(key) is not None:
                out[key] = self.outcome[key]
        if self.status == "received":
            out["status_url"] = f"/api/v1/receipts/{self.receipt_id}"
        return out


def receipt_state(session: Session, receipt_id: int) -> ReceiptState | None:
    entry = session.get(InboxEntry, receipt_id)
    if entry is None:
        return None
    if entry.duplicate_of is not None:
        # A byte-identical replay: answer with what became of the original.
        original = session.get(InboxEntry, entry.duplicate_of)
        outcome = dict(original.outcome) if original else {}
        outcome.setdefault("message", f"the same bytes were received before as receipt {entry.duplicate_of}")
        original_status = original.status if original else "unknown"
        outcome["original_status"] = _PUBLIC.get(original_status, original_status)
        return ReceiptState(entry.id, "duplicate", entry.partner_id, entry.channel, entry.sha256,
                            outcome, entry.duplicate_of)
    return ReceiptState(entry.id, entry.status, entry.partner_id, entry.channel, entry.sha256,
                        dict(entry.outcome))
