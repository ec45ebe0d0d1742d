"""The outbox as operators see it: what waits to be delivered, where to, and for how long.

When a destination (an ERP, a partner's endpoint) is down, accepted documents wait here as
``deliver`` jobs that keep retrying; this is the API's answer to "are we degraded?".

Usage:
    GET /api/v1/outbox  ->  {"open": 200, "degraded": true, "destinations": [{"type": "sap_s4", ...}]}
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from hub.api.deps import ReadSession, Viewer
from hub.runtime.processing import OPEN_STATES
from hub.storage.tables import Job, utcnow

__all__ = ["destination_label", "router"]

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"])


def destination_label(destination: dict[str, Any]) -> str:
    """A short, secret-free name for a destination: its type and where it points."""
    kind = str(destination.get("type"))
    if kind == "sap_s4":
        erp = destination.get("erp") or {}
        return f"sap_s4 {(erp.get('connection') or {}).get('base_url', '')} sold-to {erp.get('sold_to', '')}"
    return f"{kind} {destination.get('url') or destination.get('path') or ''}".strip()


@router.get("", summary="Deliveries waiting, by partner and destination, with the oldest's age")
def outbox(_: Viewer, s: ReadSession) -> dict[str, Any]:
    now = utcnow()
    rows = s.execute(select(Job.partner_id, Job.payload, Job.status, Job.created_at, Job.attempts, Job.last_error,
                            Job.next_attempt_at)
                     .where(Job.kind == "deliver", Job.status.in_(OPEN_STATES)).order_by(Job.id)).all()
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for partner_id, payload, status, created_at, attempts, last_error, next_at in rows:
        dest = (payload or {}).get("destination") or {}
        key = (partner_id or "", destination_label(dest))
        group = groups.setdefault(key, {
            "partner_id": partner_id, "type": dest.get("type"), "destination": key[1], "queued": 0,
            "retrying": 0, "oldest_seconds": round((now - created_at).total_seconds(), 3),
            "max_attempts": 0, "last_error": None, "next_attempt_at": None})
        group[status] += 1
        group["max_attempts"] = max(group["max_attempts"], attempts)
        if last_error:
            group["last_error"] = last_error[:500]
            group["next_attempt_at"] = next_at.isoformat()
    destinations = sorted(groups.values(), key=lambda g: -float(g["oldest_seconds"]))
    return {"open": len(rows), "degraded": any(g["retrying"] for g in destinations),
            "oldest_seconds": destinations[0]["oldest_seconds"] if destinations else 0.0,
            "destinations": destinations}
