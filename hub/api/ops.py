"""Health, readiness and metrics (no authentication on /healthz and /metrics)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from hub.api.deps import HubDep, Viewer
from hub.storage.migrate import current_revision, head_revision

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Ready to take traffic: database reachable, schema current, workers running")
def readyz(_: Viewer, hub: HubDep) -> Response:
    checks: dict[str, Any] = {}
    try:
        with hub.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current, head = current_revision(hub.db.engine), head_revision(hub.db.url)
        checks["schema"] = "ok" if current == head else f"at {current}, expected {head}: run crossdock db upgrade"
    except Exception as exc:  # readiness reports any failure, it never raises
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["runtime"] = "ok" if hub.runtime.running else "stopped"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "mode": hub.settings.mode,
                         "checks": checks, "backlog": hub.runtime.backlog()}, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics")
def metrics(hub: HubDep) -> Response:
    return Response(generate_latest(hub.metrics.registry), media_type=CONTENT_TYPE_LATEST)
