"""The foundation, end to end, against a real `crossdock serve` on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.hubproc import ADMIN_KEY, HubProcess

INBOUND = "/api/v1/inbound/ACME/purchase_order"


def test_same_order_twice_is_one_document(hub: HubProcess, purchase_order: dict[str, Any]) -> None:
    hub.add_partner("ACME")
    first = hub.client.post(INBOUND, json=purchase_order)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "processed"
    doc_id = first.json()["document_id"]
    assert first.headers["location"] == f"/api/v1/documents/{doc_id}"

    # the very same bytes again: recognised at the transport (same sha256)
    again = hub.client.post(INBOUND, json=purchase_order)
    assert again.status_code == 200, again.text
    assert again.json()["already_seen"] is True
    assert again.json()["document_id"] == doc_id

    # the same order with different bytes (reformatted, a note added): the business key decides
    reformatted = json.dumps(purchase_order, indent=4).encode()
    third = hub.client.post(INBOUND, content=reformatted, headers={"Content-Type": "application/json"})
    assert third.status_code == 200, third.text
    assert third.json() | {"document_id": doc_id} == third.json() and third.json()["already_seen"] is True

    docs = hub.client.get("/api/v1/documents", params={"business_key": "ACME/PO-1001"}).json()["items"]
    assert [d["id"] for d in docs] == [doc_id]

    # a change (higher revision) is a new version, not a duplicate
    change = purchase_order | {"purpose": "change", "revision": 1}
    r = hub.client.post(INBOUND, json=change)
    assert r.status_code == 201 and r.json()["document_id"] != doc_id


def test_document_detail_has_raw_canonical_and_attempts(hub: HubProcess, purchase_order: dict[str, Any]) -> None:
    hub.add_partner("ACME")
    body = json.dumps(purchase_order).encode()
    r = hub.client.post(INBOUND, content=body, headers={"X-Correlation-ID": "corr-42"})
    doc = hub.client.get(f"/api/v1/documents/{r.json()['document_id']}").json()
    assert doc["raw"].encode() == body
    assert doc["canonical"]["po_number"] == "PO-1001"
    assert doc["canonical"]["lines"][1]["unit_price"] == "31.00"  # decimals kept exactly
    assert doc["canonical"]["idempotency_key"] == doc["idempotency_key"]
    assert doc["receipt"]["correlation_id"] == "corr-42"
    assert [a["outcome"] for a in doc["attempts"]] == ["ok"]


def test_dead_letter_then_replay_after_fix_processes_exactly_once(hub: HubProcess,
                                                                  purchase_order: dict[str, Any]) -> None:
    # ACME is not a partner yet: stored raw, then parked at the resolve_partner stage
    r = hub.client.post(INBOUND, json=purchase_order)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert problem["stage"] == "resolve_partner" and problem["code"] == "partner.unknown"
    dl_id = problem["dead_letter_id"]

    dl = hub.client.get(f"/api/v1/deadletters/{dl_id}").json()
    assert dl["stage"] == "resolve_partner"
    assert "unknown partner 'ACME'" in dl["error"]
    assert json.loads(dl["raw"]) == purchase_order
    assert dl["attempt_log"][0]["outcome"] == "dead_letter"
    assert [d["id"] for d in hub.client.get("/api/v1/deadletters").json()["items"]] == [dl_id]

    hub.add_partner("ACME")
    replay = hub.client.post(f"/api/v1/deadletters/{dl_id}/replay", json={"reason": "partner added"})
    assert replay.status_code == 202, replay.text
    state = hub.wait_for(lambda: (s := hub.client.get(f"/api/v1/receipts/{problem['receipt_id']}").json())
                         ["status"] == "processed" and s)
    assert hub.client.get(f"/api/v1/deadletters/{dl_id}").json()["status"] == "resolved"

    # replaying again is refused, and never makes a second document
    again = hub.client.post(f"/api/v1/deadletters/{dl_id}/replay")
    assert again.status_code == 409
    docs = hub.client.get("/api/v1/documents").json()["items"]
    assert [d["id"] for d in docs] == state["document_ids"]
    audit = hub.client.get("/api/v1/audit", params={"target_type": "dead_letter"}).json()["items"]
    assert [(a["action"], a["reason"], a["actor"]) for a in audit] == [
        ("deadletter.replay", "partner added", "apikey:bootstrap")]


def test_discard_needs_a_reason_and_is_audited(hub: HubProcess) -> None:
    hub.add_partner("ACME")
    r = hub.client.post(INBOUND, content=b'{"po_number": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "parse.json"
    assert "line 1, column 15" in r.json()["detail"]
    dl_id = r.json()["dead_letter_id"]
    no_reason = hub.client.post(f"/api/v1/deadletters/{dl_id}/discard", json={})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["detail"]
    ok = hub.client.post(f"/api/v1/deadletters/{dl_id}/discard", json={"reason": "test message from partner"})
    assert ok.status_code == 200 and ok.json()["status"] == "discarded"
    assert hub.client.get("/api/v1/deadletters").json()["items"] == []
    audit = hub.client.get("/api/v1/audit", params={"action": "deadletter.discard"}).json()["items"]
    assert audit[0]["reason"] == "test message from partner" and audit[0]["target_id"] == str(dl_id)
    assert hub.client.post(f"/api/v1/deadletters/{dl_id}/replay").status_code == 409


def test_invalid_document_names_the_field(hub: HubProcess, purchase_order: dict[str, Any]) -> None:
    hub.add_partner("ACME")
    purchase_order["lines"][1]["quantity"] = "-3"
    purchase_order["currency"] = "dollars"
    r = hub.client.post(INBOUND, json=purchase_order)
    assert r.status_code == 422
    paths = {f["path"] for f in r.json()["findings"]}
    assert paths == {"lines[1].quantity", "currency"}
    assert r.json()["partner"] == "ACME"


@pytest.mark.parametrize("path,code", [
    ("/api/v1/inbound/ACME/pick_ticket", "config.unknown_document_type"),
])
def test_unknown_document_type_is_parked(hub: HubProcess, purchase_order: dict[str, Any], path: str, code: str) -> None:
    hub.add_partner("ACME")
    r = hub.client.post(path, json=purchase_order)
    assert r.status_code == 422 and r.json()["code"] == code
    assert "purchase_order" in r.json()["detail"]  # names the known types


def test_auth_roles_and_size_limit(hub: HubProcess, purchase_order: dict[str, Any]) -> None:
    hub.add_partner("ACME")
    anon = httpx.post(hub.url + INBOUND, json=purchase_order)
    assert anon.status_code == 401 and anon.headers["www-authenticate"].startswith("Bearer")
    wrong = httpx.get(hub.url + "/api/v1/documents", headers={"Authorization": "Bearer cdk_nope_nope"})
    assert wrong.status_code == 401
    assert httpx.get(hub.url + "/healthz").status_code == 200
    assert httpx.get(hub.url + "/metrics").status_code == 200

    keys = {}
    for role in ("viewer", "operator", "ingest"):
        r = hub.client.post("/api/v1/apikeys", json={"name": f"k-{role}", "role": role,
                                                      "partner": "ACME" if role == "ingest" else None})
        assert r.status_code == 201
        keys[role] = r.json()["key"]
    listed = hub.client.get("/api/v1/apikeys").json()["items"]
    assert all("key" not in k for k in listed)

    def as_(role: str) -> httpx.Client:
        return httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {keys[role]}"})

    assert as_("viewer").get("/api/v1/documents").status_code == 200
    assert as_("viewer").post(INBOUND, json=purchase_order).status_code == 403
    assert as_("viewer").post("/api/v1/deadletters/1/replay").status_code == 403
    assert as_("operator").post("/api/v1/partners", json={"id": "X", "name": "X"}).status_code == 403
    assert as_("ingest").get("/api/v1/documents").status_code == 403
    assert as_("ingest").post(INBOUND, json=purchase_order).status_code == 201
    assert as_("ingest").post("/api/v1/inbound/OTHER/purchase_order", json=purchase_order).status_code == 403

    revoked = hub.client.delete(f"/api/v1/apikeys/{listed[-1]['id']}")
    assert revoked.status_code == 200
    assert as_("ingest").post(INBOUND, json=purchase_order).status_code == 401

    big = b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    r = hub.client.post(INBOUND, content=big)
    assert r.status_code == 413 and "10485760" in r.json()["detail"]
    assert ADMIN_KEY not in hub.logs()  # secrets never logged


def test_openapi_readyz_and_metrics(hub: HubProcess, purchase_order: dict[str, Any]) -> None:
    spec = httpx.get(hub.url + "/openapi.json").json()
    for path in ("/api/v1/inbound/{partner_id}/{document_type}", "/api/v1/documents", "/api/v1/deadletters",
                 "/api/v1/deadletters/{dead_letter_id}/replay", "/api/v1/partners", "/api/v1/apikeys"):
        assert path in spec["paths"], path
    ready = hub.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "schema": "ok", "runtime": "ok"}
    hub.add_partner("ACME")
    hub.client.post(INBOUND, json=purchase_order)
    hub.client.post(INBOUND, content=b"not json")
    text = httpx.get(hub.url + "/metrics").text
    # stage latency is counted where the stages run: in distributed mode, the workers
    workers = "".join(httpx.get(f"http://127.0.0.1:{port}/metrics").text
                      for port in getattr(hub, "metrics_ports", []))
    assert 'crossdock_documents{document_type="purchase_order",status="accepted"} 1.0' in text
    assert 'crossdock_dead_letters{status="open"} 1.0' in text
    assert 'crossdock_stage_seconds_count{stage="map"}' in (workers or text)


def test_watched_directory(hub: HubProcess, purchase_order: dict[str, Any]) -> None:
    hub.add_partner("ACME")
    folder = hub.data_dir / "inbound" / "ACME" / "purchase_order"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "po-1001.json").write_text(json.dumps(purchase_order))
    (folder / "broken.json").write_text("{not json")
    hub.wait_for(lambda: (folder / "processed" / "po-1001.json").exists()
                 and (folder / "processed" / "broken.json").exists())
    assert not list(folder.glob("*.json")) and not list(folder.glob("*.processing"))
    docs = hub.wait_for(lambda: hub.client.get("/api/v1/documents").json()["items"])
    assert docs[0]["business_key"] == "ACME/PO-1001"
    dls = hub.wait_for(lambda: hub.client.get("/api/v1/deadletters").json()["items"])
    assert dls[0]["stage"] == "decode" and dls[0]["partner_id"] == "ACME"


def test_transient_failure_retried_and_survives_restart(tmp_path: Path, database_url: str,
                                                        purchase_order: dict[str, Any]) -> None:
    """Delivery to a downstream system that is down: retried with backoff, across a restart."""
    from tests.support.receiver import Receiver

    receiver = Receiver()  # not started yet: connection refused
    hub = HubProcess(tmp_path / "hub", database_url=database_url,
                     env={"CROSSDOCK_RETRY_INITIAL_SECONDS": "0.5", "CROSSDOCK_RETRY_MAX_SECONDS": "1"})
    hub.start()
    try:
        hub.add_partner("ACME", destinations=[{"type": "http", "url": receiver.url}])
        r = hub.client.post(INBOUND, json=purchase_order)
        doc_id = r.json()["document_id"]

        def delivery() -> dict[str, Any]:
            return dict(hub.client.get(f"/api/v1/documents/{doc_id}").json()["deliveries"][0])

        hub.wait_for(lambda: delivery()["attempts"] >= 2)
        d = delivery()
        assert d["status"] == "retrying" and "refused" in (d["last_error"] or "").lower() or "connect" in (d["last_error"] or "").lower()
        hub.restart()  # the pending retry is in the database, not in memory
        assert delivery()["status"] == "retrying"
        receiver.start()
        hub.wait_for(lambda: delivery()["status"] == "done", timeout=30)
        assert hub.client.get(f"/api/v1/documents/{doc_id}").json()["status"] == "delivered"
        assert len(receiver.requests) == 1
        got = receiver.requests[0]
        assert got["headers"]["idempotency-key"] == hub.client.get(f"/api/v1/documents/{doc_id}").json()["idempotency_key"]
        assert got["body"]["po_number"] == "PO-1001"
        metrics = httpx.get(hub.url + "/metrics").text
        assert "crossdock_jobs{kind=\"deliver\",status=\"done\"} 1.0" in metrics
    finally:
        hub.close()
        receiver.stop()
