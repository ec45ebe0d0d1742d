"""Partners, API keys and the audit log (admin manages; every change audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select

from hub.api.deps import Admin, DbSession, HubDep, Operator, ReadSession, Viewer
from hub.api.problems import Problem
from hub.auth import ROLES, create_key
from hub.partners import (
    PartnerProfile,
    mask_secrets,
    partner_dict,
    profile_error,
    restore_masked,
    upsert_partner,
)
from hub.storage.audit import record_audit
from hub.storage.tables import ApiKey, AuditEntry, Partner, utcnow

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["administration"])


def _validate(data: dict[str, Any], partner_id: str) -> PartnerProfile:
    try:
        return PartnerProfile.model_validate(data)
    except ValidationError as exc:
        err = profile_error(exc, partner_id, "request")
        raise Problem(422, "Invalid partner profile", str(err)) from None


@router.get("/partners", summary="List partners")
def list_partners(_: Viewer, s: ReadSession) -> dict[str, Any]:
    rows = s.scalars(select(Partner).order_by(Partner.id))
    return {"items": [mask_secrets({**(partner_dict(s, r.id) or {}), "source": r.source}) for r in rows]}


@router.get("/partners/{partner_id}", summary="One partner profile")
def get_partner(partner_id: str, _: Viewer, s: ReadSession) -> dict[str, Any]:
    profile = partner_dict(s, partner_id)
    if profile is None:
        raise Problem(404, "Not found", f"no partner {partner_id!r}")
    return dict(mask_secrets(profile))


@router.post("/partners", status_code=201, summary="Add a partner")
def create_partner(body: dict[str, Any], principal: Admin, s: DbSession, hub: HubDep) -> dict[str, Any]:
    profile = _validate(body, str(body.get("id")))
    if s.get(Partner, profile.id) is not None:
        raise Problem(409, "Conflict", f"partner {profile.id!r} exists; PUT /api/v1/partners/{profile.id} changes it")
    upsert_partner(s, profile, source="api", raw=body)
    record_audit(s, actor=principal.actor, action="partner.create", target_type="partner", target_id=profile.id,
                 details={"profile": mask_secrets(profile.model_dump(mode="json"))})
    s.flush()
    hub.processor.context.forget(profile.id)
    return dict(mask_secrets(partner_dict(s, profile.id) or {}))


@router.put("/partners/{partner_id}", summary="Replace a partner profile")
def update_partner(partner_id: str, body: dict[str, Any], principal: Admin, s: DbSession, hub: HubDep) -> dict[str, Any]:
    before = partner_dict(s, partner_id)
    body = restore_masked({**body, "id": partner_id}, before or {})
    profile = _validate(body, partner_id)
    upsert_partner(s, profile, source="api", raw=body)
    record_audit(s, actor=principal.actor, action="partner.update" if before else "partner.create",
                 target_type="partner", target_id=partner_id,
                 details={"before": mask_secrets(before), "after": mask_secrets(profile.model_dump(mode="json"))})
    s.flush()
    hub.processor.context.forget(partner_id)
    return dict(mask_secrets(partner_dict(s, partner_id) or {}))


@router.delete("/partners/{partner_id}", status_code=204, summary="Remove a partner")
def delete_partner(partner_id: str, principal: Admin, s: DbSession, hub: HubDep) -> None:
    row = s.get(Partner, partner_id)
    if row is None:
        raise Problem(404, "Not found", f"no partner {partner_id!r}")
    record_audit(s, actor=principal.actor, action="partner.delete", target_type="partner", target_id=partner_id,
                 details={"before": mask_secrets(partner_dict(s, partner_id))})
    s.delete(row)
    hub.processor.context.forget(partner_id)


class KeyRequest(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    role: str = Field(description=f"One of {', '.join(ROLES)}")
    partner: str | None = Field(None, description="ingest keys: the only partner this key may send for")


def _key(row: ApiKey) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "role": row.role, "partner": row.partner_id, "prefix": row.prefix,
            "created_at": row.created_at.isoformat(),
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None}


@router.post("/apikeys", status_code=201, summary="Create an API key (the key is shown once)")
def create_api_key(body: KeyRequest, principal: Admin, s: DbSession) -> dict[str, Any]:
    if body.role not in ROLES:
        raise Problem(422, "Invalid request", f"role must be one of {', '.join(ROLES)}")
    if s.scalar(select(ApiKey.id).where(ApiKey.name == body.name)) is not None:
        raise Problem(409, "Conflict", f"a key named {body.name!r} exists")
    row, key = create_key(s, name=body.name, role=body.role, partner_id=body.partner)
    record_audit(s, actor=principal.actor, action="apikey.create", target_type="api_key", target_id=row.id,
                 details={"name": row.name, "role": row.role, "partner": row.partner_id})
    return _key(row) | {"key": key}


@router.get("/apikeys", summary="List API keys (never the keys themselves)")
def list_api_keys(_: Admin, s: ReadSession) -> dict[str, Any]:
    return {"items": [_key(r) for r in s.scalars(select(ApiKey).order_by(ApiKey.id))]}


@router.delete("/apikeys/{key_id}", summary="Revoke an API key")
def revoke_api_key(key_id: int, principal: Admin, s: DbSession, hub: HubDep) -> dict[str, Any]:
    row = s.get(ApiKey, key_id)
    if row is None:
        raise Problem(404, "Not found", f"no API key {key_id}")
    row.revoked_at = row.revoked_at or utcnow()
    record_audit(s, actor=principal.actor, action="apikey.revoke", target_type="api_key", target_id=row.id,
                 details={"name": row.name})
    hub.key_cache.clear()
    return _key(row)


@router.get("/audit", summary="The audit log, newest first")
def list_audit(_: Operator, s: ReadSession, target_type: str | None = None, target_id: str | None = None,
               action: str | None = None, limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    for column, value in ((AuditEntry.target_type, target_type), (AuditEntry.target_id, target_id),
                          (AuditEntry.action, action)):
        if value is not None:
            stmt = stmt.where(column == value)
    return {"items": [{"id": a.id, "at": a.at.isoformat(), "actor": a.actor, "action": a.action,
                       "target_type": a.target_type, "target_id": a.target_id, "reason": a.reason,
                       "details": a.details} for a in s.scalars(stmt)]}
