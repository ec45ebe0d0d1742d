"""Inbound webhooks against the hub's real inbox and state store (SQLite under tmp_path)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.transports.webhook import (
    BadSignature,
    MissingSignature,
    ReplayedDelivery,
    StaleTimestamp,
    StateStoreReplayGuard,
    WebhookConfig,
    WebhookTooLarge,
    receive_webhook,
    sign_webhook,
    verify_webhook,
)
from hub.inbox import BlobStore, DatabaseInbox
from hub.state import DatabaseStateStore
from hub.storage.db import Database
from hub.storage.tables import InboxEntry
from tests.support.services import sqlite_database

SHOP_ORDER = json.dumps({
    "id": "WS-100234", "created_at": "2026-11-23T17:02:11Z", "currency": "EUR",
    "customer": {"id": "C-0042", "email": "buyer@example.org"},
    "shipping_address": {"name": "Hartmann Bau GmbH", "street": "Industriestr. 4",
                         "city": "Mannheim", "zip": "68169", "country": "DE"},
    "line_items": [{"sku": "TG11", "quantity": 3, "price": "499.00"},
                   {"sku": "MZ-FG-C100", "quantity": 10, "price": "12.50"}],
}).encode()
CARRIER_EVENT = json.dumps({
    "event": "tracking.updated", "carrier": "UPSN", "tracking_number": "1Z12345E0205271688",
    "status": "out_for_delivery", "occurred_at": "2026-11-23T07:41:00Z",
    "location": {"city": "Mannheim", "country": "DE"},
}).encode()
NOW = 1_795_000_000.0


@pytest.fixture
def hub(tmp_path: Path) -> tuple[DatabaseInbox, DatabaseStateStore, Database]:
    url = sqlite_database(tmp_path / "hub.db")
    db = Database(url)
    return DatabaseInbox(db, blobs=BlobStore(tmp_path / "blobs")), DatabaseStateStore(db), db


def _config(**kw: object) -> WebhookConfig:
    return WebhookConfig(secret="whsec_test_7f3a", document_type="purchase_order", **kw)  # type: ignore[arg-type]


def _signed(body: bytes, config: WebhookConfig, *, ts: float = NOW, delivery: str = "d-1") -> dict[str, str]:
    return {**sign_webhook(body, config, timestamp=int(ts)), "X-Crossdock-Delivery": delivery,
            "Content-Type": "application/json"}


@pytest.mark.parametrize("fmt", ["sha256", "stripe"])
@pytest.mark.parametrize("body", [SHOP_ORDER, CARRIER_EVENT], ids=["shop-order", "carrier-event"])
def test_good_signature_is_stored_raw_and_answered_202(hub, fmt, body) -> None:
    inbox, state, db = hub
    config = _config(signature_format=fmt)
    answer = receive_webhook("SHOP", _signed(body, config), body, config, inbox=inbox, now=NOW + 5,
                             replay_guard=StateStoreReplayGuard(state, partner_id="SHOP"))
    assert answer.status_code == 202 and answer.body["status"] == "accepted"
    with db.reader() as s:
        row = s.scalars(select(InboxEntry)).one()
        assert row.raw == body and row.partner_id == "SHOP" and row.channel == "webhook"
        assert row.correlation_id == "d-1" and row.document_type == "purchase_order"


def test_headers_are_case_insensitive_and_body_only_signing_works(hub) -> None:
    inbox, _, _ = hub
    config = _config(timestamp_header=None)
    headers = {k.lower(): v for k, v in sign_webhook(SHOP_ORDER, config).items()}
    answer = receive_webhook("SHOP", headers, SHOP_ORDER, config, inbox=inbox, now=NOW)
    assert answer.status_code == 202


REFUSALS = [
    # (case, mutate headers/body, expected error, status)
    ("bad-signature", lambda h, b: ({**h, "X-Crossdock-Signature": "sha256=" + "0" * 64}, b), BadSignature, 401),
    ("tampered-body", lambda h, b: (h, b.replace(b"499.00", b"4.99")), BadSignature, 401),
    ("missing-signature", lambda h, b: ({k: v for k, v in h.items() if k != "X-Crossdock-Signature"}, b),
     MissingSignature, 401),
    ("missing-timestamp", lambda h, b: ({k: v for k, v in h.items() if k != "X-Crossdock-Timestamp"}, b),
     MissingSignature, 401),
]


@pytest.mark.parametrize(("case", "mutate", "error", "status"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_delivery_is_not_stored_and_says_why(hub, case, mutate, error, status) -> None:
    inbox, state, db = hub
    config = _config()
    headers, body = mutate(_signed(SHOP_ORDER, config), SHOP_ORDER)
    answer = receive_webhook("SHOP", headers, body, config, inbox=inbox, now=NOW,
                             replay_guard=StateStoreReplayGuard(state, partner_id="SHOP"))
    assert answer.status_code == status
    assert isinstance(answer.rejection, error)
    assert answer.audit["code"] == error.code and answer.audit["partner"] == "SHOP"
    with db.reader() as s:
        assert s.scalars(select(InboxEntry)).all() == []


def test_stale_timestamp_is_refused_with_its_age() -> None:
    config = _config()
    headers = _signed(SHOP_ORDER, config, ts=NOW - 301)
    with pytest.raises(StaleTimestamp) as caught:
        verify_webhook(headers, SHOP_ORDER, config, now=NOW)
    assert caught.value.details["age_seconds"] == pytest.approx(301)
    verify_webhook(_signed(SHOP_ORDER, config, ts=NOW - 299), SHOP_ORDER, config, now=NOW)


def test_replayed_delivery_id_is_refused_even_when_freshly_signed(hub) -> None:
    inbox, state, db = hub
    config = _config()
    guard = StateStoreReplayGuard(state, partner_id="SHOP")
    first = receive_webhook("SHOP", _signed(SHOP_ORDER, config, delivery="d-77"), SHOP_ORDER, config,
                            inbox=inbox, now=NOW, replay_guard=guard)
    assert first.status_code == 202
    # a captured request sent again (other node, other guard instance, same state store)
    again = receive_webhook("SHOP", _signed(SHOP_ORDER, config, ts=NOW + 10, delivery="d-77"), SHOP_ORDER,
                            config, inbox=inbox, now=NOW + 10,
                            replay_guard=StateStoreReplayGuard(state, partner_id="SHOP"))
    assert again.status_code == 409 and isinstance(again.rejection, ReplayedDelivery)
    assert again.audit["details"] == {"delivery_id": "d-77"}
    # another partner may use the same delivery id
    other = receive_webhook("CARRIER", _signed(CARRIER_EVENT, config, delivery="d-77"), CARRIER_EVENT,
                            config, inbox=inbox, now=NOW,
                            replay_guard=StateStoreReplayGuard(state, partner_id="CARRIER"))
    assert other.status_code == 202
    with db.reader() as s:
        assert len(s.scalars(select(InboxEntry)).all()) == 2


def test_same_bytes_with_a_new_delivery_id_is_a_recognised_duplicate(hub) -> None:
    inbox, state, _ = hub
    config = _config()
    guard = StateStoreReplayGuard(state, partner_id="SHOP")
    receive_webhook("SHOP", _signed(SHOP_ORDER, config, delivery="a"), SHOP_ORDER, config,
                    inbox=inbox, now=NOW, replay_guard=guard)
    second = receive_webhook("SHOP", _signed(SHOP_ORDER, config, delivery="b"), SHOP_ORDER, config,
                             inbox=inbox, now=NOW, replay_guard=guard)
    assert second.status_code == 200 and second.body["status"] == "duplicate"
    assert second.stored is not None and second.stored.duplicate_of is not None


def test_inbox_failure_releases_the_delivery_id_so_the_partner_retry_is_accepted(hub) -> None:
    inbox, state, _ = hub
    config = _config()
    guard = StateStoreReplayGuard(state, partner_id="SHOP")

    class BrokenInbox:
        def store(self, receipt, body):  # type: ignore[no-untyped-def]
            raise OSError("disk full")

    with pytest.raises(OSError):
        receive_webhook("SHOP", _signed(SHOP_ORDER, config, delivery="r-1"), SHOP_ORDER, config,
                        inbox=BrokenInbox(), now=NOW, replay_guard=guard)
    retry = receive_webhook("SHOP", _signed(SHOP_ORDER, config, delivery="r-1"), SHOP_ORDER, config,
                            inbox=inbox, now=NOW + 30, replay_guard=guard)
    assert retry.status_code == 202


def test_oversized_body_is_refused_before_hashing() -> None:
    config = _config(max_body_bytes=64)
    with pytest.raises(WebhookTooLarge) as caught:
        verify_webhook(_signed(SHOP_ORDER, config), SHOP_ORDER, config, now=time.time())
    assert caught.value.status_code == 413
