"""Inbound REST webhooks: HMAC verification, replay protection, raw-first storage.

Framework-neutral: the hub mounts :func:`receive_webhook` at
``POST /api/v1/webhooks/{partner}`` and answers with the :class:`WebhookAnswer` it returns.

A delivery is accepted only if, in this order: the body is within ``max_body_bytes``; the
signature header is present and its HMAC-SHA256 over ``"{timestamp}.{body}"`` (or over the
body alone when the partner sends no timestamp) matches, compared in constant time; the
timestamp is within ``tolerance_seconds`` of now; the delivery id was not seen within the
tolerance window. Only then is the body stored in the inbox, and only then is 2xx answered.

    PermanentError
    └── WebhookRejected          → answer ``status_code``; the hub audits ``describe()``
        ├── WebhookTooLarge      413 webhook.too_large
        ├── MissingSignature     401 webhook.signature_missing
        ├── BadSignature         401 webhook.signature_invalid
        ├── StaleTimestamp       401 webhook.timestamp_stale
        └── ReplayedDelivery     409 webhook.replayed
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import Field, SecretStr

from canonical.errors import PermanentError
from connectors.base import ConnectorConfig, Inbox, Receipt, StateStore, StoredReceipt

log = logging.getLogger(__name__)

__all__ = [
    "BadSignature",
    "MissingSignature",
    "WebhookTooLarge",
    "ReplayGuard",
    "ReplayedDelivery",
    "StaleTimestamp",
    "StateStoreReplayGuard",
    "WebhookAnswer",
    "WebhookConfig",
    "WebhookRejected",
    "receive_webhook",
    "sign_webhook",
    "verify_webhook",
]


class WebhookConfig(ConnectorConfig):
    """How one partner signs its webhooks."""

    secret: SecretStr = Field(title="Shared secret", description="HMAC-SHA256 key agreed with the partner")
    signature_header: str = Field("X-Crossdock-Signature", title="Signature header")
    signature_format: Literal["sha256", "stripe"] = Field(
        "sha256", title="Signature format",
        description="`sha256=<hex>` (timestamp in `timestamp_header`) or Stripe-style `t=<ts>,v1=<hex>`",
    )
    timestamp_header: str | None = Field(
        "X-Crossdock-Timestamp", title="Timestamp header",
        description="Unix seconds; signed as `{timestamp}.{body}`. None: the body alone is signed",
    )
    delivery_header: str | None = Field(
        "X-Crossdock-Delivery", title="Delivery id header",
        description="Unique per delivery; a repeat within the tolerance window is refused",
    )
    tolerance_seconds: int = Field(300, gt=0, title="Timestamp tolerance (s)")
    document_type: str | None = Field(None, title="Document type hint", description="e.g. purchase_order")
    max_body_bytes: int = Field(1024 * 1024, gt=0, title="Largest accepted body (bytes)")


class WebhookRejected(PermanentError):
    """A delivery refused before storage. ``status_code`` is the HTTP answer."""

    code = "webhook.rejected"
    status_code = 400


class WebhookTooLarge(WebhookRejected):
    code = "webhook.too_large"
    status_code = 413


class MissingSignature(WebhookRejected):
    code = "webhook.signature_missing"
    status_code = 401


class BadSignature(WebhookRejected):
    code = "webhook.signature_invalid"
    status_code = 401


class StaleTimestamp(WebhookRejected):
    code = "webhook.timestamp_stale"
    status_code = 401


class ReplayedDelivery(WebhookRejected):
    code = "webhook.replayed"
    status_code = 409


class ReplayGuard(Protocol):
    """Remembers delivery ids: ``claim`` returns a token only for the first claim within the ttl."""

    def claim(self, delivery_id: str, ttl_seconds: float) -> str | None: ...

    def forget(self, delivery_id: str, token: str) -> None: ...


class StateStoreReplayGuard:
    """A :class:`ReplayGuard` on a StateStore's leases (atomic across nodes).

    Usage: ``guard = StateStoreReplayGuard(state, partner_id="SHOP")``
    """

    def __init__(self, state: StateStore, *, partner_id: str) -> None:
        self.state = state
        self.prefix = f"webhook-delivery:{partner_id}:"

    def claim(self, delivery_id: str, ttl_seconds: float) -> str | None:
        token = uuid.uuid4().hex  # a fresh owner: a second claim of the same id fails
        taken = self.state.try_lease(self.prefix + delivery_id, token, ttl_seconds)
        return token if taken else None

    def forget(self, delivery_id: str, token: str) -> None:
        self.state.release_lease(self.prefix + delivery_id, token)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value.strip()
    return None


def _digest(secret: SecretStr, timestamp: str | None, body: bytes) -> str:
    mac = hmac.new(secret.get_secret_value().encode(), digestmod=hashlib.sha256)
    if timestamp is not None:
        mac.update(timestamp.encode() + b".")
    mac.update(body)  # no concatenated copy of a large body
    return mac.hexdigest()


def sign_webhook(body: bytes, config: WebhookConfig, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers a sender puts on ``body`` (for partner onboarding docs and tests).

    Usage: ``headers = sign_webhook(b'{"id": 1}', config, timestamp=int(time.time()))``
    """
    ts = None if timestamp is None else str(timestamp)
    hexdigest = _digest(config.secret, ts, body)
    if config.signature_format == "stripe":
        return {config.signature_header: f"t={ts},v1={hexdigest}"}
    headers = {config.signature_header: f"sha256={hexdigest}"}
    if ts is not None and config.timestamp_header:
        headers[config.timestamp_header] = ts
    return headers


def _read_signature(
    headers: Mapping[str, str], config: WebhookConfig, ev: dict[str, Any]
) -> tuple[str | None, list[str]]:
    raw = _header(headers, config.signature_header)
    if not raw:
        raise MissingSignature(f"no {config.signature_header} header",
                               details={"header": config.signature_header}, **ev)
    if config.signature_format == "stripe":
        parts = [p.split("=", 1) for p in raw.split(",") if "=" in p]
        ts = next((v.strip() for k, v in parts if k.strip() == "t"), None)
        return ts, [v.strip() for k, v in parts if k.strip() == "v1"]
    ts = _header(headers, config.timestamp_header) if config.timestamp_header else None
    return ts, [raw.removeprefix("sha256=").strip()] if raw.startswith("sha256=") else []


def verify_webhook(
    headers: Mapping[str, str], body: bytes, config: WebhookConfig, *,
    now: float, replay_guard: ReplayGuard | None = None, partner_id: str | None = None,
) -> str | None:
    """Check size, signature, timestamp and delivery id; raise a :class:`WebhookRejected`.

    Returns the replay-guard token of the claimed delivery id (None without one), which
    the caller passes to ``replay_guard.forget`` if storing then fails.

    Usage:
        verify_webhook(request.headers, body, config, now=time.time(), replay_guard=guard)
    """
    ev: dict[str, Any] = {"partner": partner_id}
    if len(body) > config.max_body_bytes:
        raise WebhookTooLarge(f"body of {len(body)} bytes is above {config.max_body_bytes}",
                              details={"size": len(body), "limit": config.max_body_bytes}, **ev)
    ts, candidates = _read_signature(headers, config, ev)
    signed_with_time = config.signature_format == "stripe" or config.timestamp_header is not None
    if signed_with_time and not ts:
        raise MissingSignature("the signature carries no timestamp", details={"reason": "timestamp"}, **ev)
    expected = _digest(config.secret, ts if signed_with_time else None, body)
    # compare_digest on every candidate: the time taken must not depend on where they differ
    matched = [hmac.compare_digest(expected, c) for c in candidates]
    if not any(matched):
        raise BadSignature("the signature does not match the body", details={"header": config.signature_header}, **ev)
    if signed_with_time:
        assert ts is not None
        try:
            age = now - int(ts)
        except ValueError:
            raise StaleTimestamp(f"timestamp {ts!r} is not Unix seconds", details={"timestamp": ts}, **ev) from None
        if abs(age) > config.tolerance_seconds:
            raise StaleTimestamp(
                f"timestamp is {age:.0f} s from now, tolerance {config.tolerance_seconds} s",
                details={"timestamp": ts, "age_seconds": age, "tolerance": config.tolerance_seconds}, **ev,
            )
    delivery = _header(headers, config.delivery_header) if config.delivery_header else None
    if delivery and replay_guard is not None:
        token = replay_guard.claim(delivery, float(config.tolerance_seconds) * 2)
        if token is None:
            raise ReplayedDelivery(f"delivery {delivery!r} was already received",
                                   details={"delivery_id": delivery}, **ev)
        return token
    return None


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    """What the HTTP layer answers: ``status_code`` and a JSON ``body``; evidence beside."""

    status_code: int
    body: dict[str, Any]
    stored: StoredReceipt | None = None
    rejection: WebhookRejected | None = None
    audit: dict[str, Any] = field(default_factory=dict)


def receive_webhook(
    partner_id: str, headers: Mapping[str, str], body: bytes, config: WebhookConfig, *,
    inbox: Inbox, now: float, replay_guard: ReplayGuard | None = None,
) -> WebhookAnswer:
    """Verify a delivery, store it raw, and say what to answer (202 stored, 4xx refused).

    An inbox failure propagates (the hub answers 5xx and the partner retries); the delivery
    id is released first so that retry is not refused as a replay.

    Usage:
        answer = receive_webhook("SHOP", request.headers, body, config, inbox=inbox,
                                 now=time.time(), replay_guard=guard)
        return JSONResponse(answer.body, status_code=answer.status_code)
    """
    try:
        token = verify_webhook(headers, body, config, now=now, replay_guard=replay_guard, partner_id=partner_id)
    except WebhookRejected as exc:
        log.info("webhook from %s refused: %s (%s)", partner_id, exc.code, exc.message)
        return WebhookAnswer(exc.status_code, {"error": exc.code, "message": exc.message},
                             rejection=exc, audit=exc.describe())
    delivery = _header(headers, config.delivery_header) if config.delivery_header else None
    receipt = Receipt(
        partner_id=partner_id, channel="webhook", document_type=config.document_type,
        content_type=_header(headers, "Content-Type"), correlation_id=delivery,
        meta={"delivery_id": delivery} if delivery else {},
    )
    try:
        stored = inbox.store(receipt, body)
    except BaseException:
        if token is not None and delivery and replay_guard is not None:
            replay_guard.forget(delivery, token)
        raise
    log.debug("webhook from %s stored as receipt %s (%d bytes, duplicate of %s)",
              partner_id, stored.receipt_id, stored.size, stored.duplicate_of)
    answer = {"status": "duplicate" if stored.already_seen else "accepted",
              "receipt_id": stored.receipt_id, "sha256": stored.sha256}
    return WebhookAnswer(200 if stored.already_seen else 202, answer, stored=stored)
