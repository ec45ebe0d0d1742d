"""Reference data: read what was imported, import a JSON set (admins; audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select

from canonical.errors import CrossdockError
from hub.api.deps import Admin, DbSession, ReadSession, Viewer
from hub.api.problems import Problem
from hub.ops.refdata import KINDS, import_dataset
from hub.storage.audit import record_audit
from hub.storage.ops_tables import RefRecord
from pipelines.refdata import parse_refdata_json

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/refdata", tags=["reference data"])


@router.get("", summary="Counts per kind, or the records of one kind")
def list_refdata(_: Viewer, s: ReadSession, kind: str | None = Query(None, description=", ".join(KINDS)),
                 limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> dict[str, Any]:
    if kind is None:
        return {"counts": dict(s.execute(select(RefRecord.kind, func.count()).group_by(RefRecord.kind)).all())}
    rows = s.scalars(select(RefRecord).where(RefRecord.kind == kind).order_by(RefRecord.key)
                     .offset(offset).limit(limit))
    return {"items": [{"key": r.key, "data": r.data, "source": r.source, "updated_at": r.updated_at} for r in rows]}


@router.post("", summary="Import a JSON set (units, items, customers, price_lists, stock); known keys are replaced")
async def import_refdata(request: Request, principal: Admin, s: DbSession) -> dict[str, Any]:
    try:
        data = parse_refdata_json(await request.body())
    except CrossdockError as exc:
        raise Problem(422, "Invalid reference data", str(exc),
                      findings=[f.as_dict() for f in exc.findings]) from None
    counts = import_dataset(s, data, source=f"api:{principal.name}")
    record_audit(s, actor=principal.actor, action="refdata.import", target_type="reference_data",
                 target_id=None, details={"imported": counts})
    s.commit()  # visible before the answer goes out
    return {"imported": counts}
