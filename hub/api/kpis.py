"""Case KPIs as JSON (the same numbers are Prometheus gauges at /metrics)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from hub.api.deps import ReadSession, Viewer
from hub.ops.kpis import compute

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/kpis", tags=["cases"])


@router.get("", summary="Exception cycle time, first-pass resolution, backlog by age, automation shares")
def kpis(_: Viewer, s: ReadSession, partner: str | None = None, since: datetime | None = None) -> dict[str, Any]:
    return compute(s, partner_id=partner, since=since)
