"""Reconciliation runs: list, one with its mismatches and cases, and start one now (operator).

Usage:
    POST /api/v1/reconciliation/runs {"job": "all"}  ->  201 {"id": 7, "status": "finished", "mismatched": 2, ...}
    GET  /api/v1/reconciliation/runs?job=billing
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from hub.api.deps import HubDep, Operator, ReadSession, Viewer
from hub.api.problems import Problem
from hub.reconcile import JOBS, Reconciler, UnknownJob
from hub.storage.audit import record_audit
from hub.storage.reconcile_tables import ReconcileRun

__all__ = ["router", "run_dict"]

router = APIRouter(prefix="/api/v1/reconciliation", tags=["reconciliation"])


class RunRequest(BaseModel):
    job: str = Field("all", description=f"One of {', '.join(JOBS)}, or all")
    reason: str | None = Field(None, description="Why it is run now (audited)")


def run_dict(run: ReconcileRun, *, details: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": run.id, "job": run.job, "trigger": run.trigger, "actor": run.actor, "status": run.status,
        "started_at": run.started_at.isoformat(), "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "checked": run.checked, "matched": run.matched, "mismatched": run.mismatched, "error": run.error}
    if details:
        out["mismatches"] = (run.details or {}).get("mismatches", [])
    return out


@router.get("/runs", summary="Reconciliation runs, newest first")
def list_runs(_: Viewer, s: ReadSession, job: str | None = None, limit: int = 50) -> dict[str, Any]:
    stmt = select(ReconcileRun).order_by(ReconcileRun.id.desc()).limit(max(1, min(limit, 500)))
    if job:
        stmt = stmt.where(ReconcileRun.job == job)
    return {"items": [run_dict(r) for r in s.scalars(stmt)]}


@router.get("/runs/{run_id}", summary="One run with every mismatch and the case it opened")
def get_run(run_id: int, _: Viewer, s: ReadSession) -> dict[str, Any]:
    run = s.get(ReconcileRun, run_id)
    if run is None:
        raise Problem(404, "Not Found", f"no reconciliation run {run_id}")
    return run_dict(run, details=True)


@router.post("/runs", status_code=201, summary="Run reconciliation now and answer with the recorded run")
async def start_run(principal: Operator, hub: HubDep, body: RunRequest | None = None) -> dict[str, Any]:
    request = body or RunRequest()
    try:
        run_id = await run_in_threadpool(Reconciler(hub.db).run, request.job, trigger="api", actor=principal.actor)
    except UnknownJob as exc:
        raise Problem(422, "Unknown job", str(exc)) from None
    with hub.db.session() as s:
        record_audit(s, actor=principal.actor, action="reconcile.run", target_type="reconcile_run",
                     target_id=run_id, reason=request.reason, details={"job": request.job})
        run = s.get(ReconcileRun, run_id)
        assert run is not None
        return run_dict(run, details=True)
