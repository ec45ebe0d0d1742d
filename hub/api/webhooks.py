"""Inbound webhooks: signed by the partner (HMAC-SHA256), no API key; refusals are audited."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from connectors.transports.webhook import StateStoreReplayGuard, WebhookConfig, receive_webhook
from hub.api.deps import HubDep, Viewer
from hub.api.inbound import read_limited
from hub.api.problems import Problem
from hub.partners import partner_dict
from hub.storage.audit import record_audit

__all__ = ["router"]

router = APIRouter(tags=["inbound"])


@router.post("/api/v1/webhooks/{partner_id}", summary="A partner's signed webhook delivery (raw stored first)",
             responses={202: {"description": "Stored"}, 200: {"description": "The same bytes were stored before"},
                        401: {"description": "Signature missing, wrong or stale"},
                        409: {"description": "Delivery id already received"}, 413: {"description": "Too large"}})
async def post_webhook(partner_id: str, request: Request, hub: HubDep) -> Response:
    def load() -> dict[str, Any] | None:
        with hub.db.reader() as s:
            return partner_dict(s, partner_id)

    profile = await run_in_threadpool(load)
    if profile is None or not profile.get("webhook") or not profile.get("active", True):
        raise Problem(404, "Not found", f"no webhook is configured for partner {partner_id!r}")
    try:
        config = WebhookConfig.model_validate(profile["webhook"])
    except ValidationError as exc:
        raise Problem(500, "Webhook misconfigured", f"partner {partner_id!r}: {exc.errors()[0]['msg']}") from None
    body = await read_limited(request, max(config.max_body_bytes, 1))
    guard = StateStoreReplayGuard(hub.state, partner_id=partner_id)
    answer = await run_in_threadpool(
        lambda: receive_webhook(partner_id, dict(request.headers), body, config, inbox=hub.file_inbox,
                                now=time.time(), replay_guard=guard))
    if answer.rejection is not None:
        def audit() -> None:
            with hub.db.session() as s:
                record_audit(s, actor=f"webhook:{partner_id}", action="webhook.rejected", target_type="partner",
                             target_id=partner_id, reason=answer.rejection.message if answer.rejection else None,
                             details={**answer.audit, "remote": request.client.host if request.client else None})

        await run_in_threadpool(audit)
        hub.metrics.received.labels("webhook", "refused").inc()
        return JSONResponse({"type": f"https://crossdock.dev/problems/{answer.body['error'].replace('.', '-')}",
                             "title": "Webhook refused", "status": answer.status_code,
                             "detail": answer.body["message"], "code": answer.body["error"], "partner": partner_id},
                            status_code=answer.status_code, media_type="application/problem+json")
    hub.metrics.received.labels("webhook", "duplicate" if answer.stored and answer.stored.already_seen
                                else "stored").inc()
    return JSONResponse(answer.body, status_code=answer.status_code)


@router.get("/api/v1/connectors", summary="Pull connectors and how their last poll went")
def list_connectors(_: Viewer, hub: HubDep) -> dict[str, Any]:
    return {"items": hub.sources.status()}
