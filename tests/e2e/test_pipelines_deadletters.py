"""Dead-letter operations end to end: edit-and-replay, replay twice, poison, pause/resume, bulk replay."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.hubproc import BIN, HubProcess
from tests.support.receiver import Receiver

INBOUND = "/api/v1/inbound/ACME/purchase_order"
ASYNC = {"Prefer": "respond-async"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()


def dl(hub: HubProcess, dl_id: int) -> dict[str, Any]:
    return dict(hub.client.get(f"/api/v1/deadletters/{dl_id}").json())


def test_edit_and_replay_keeps_identity_diff_and_runs_every_check(hub: HubProcess, purchase_order: dict[str, Any],
                                                                   receiver: Receiver) -> None:
    hub.add_partner("ACME", destinations=[{"type": "http", "url": receiver.url}])
    broken = json.dumps({**purchase_order, "po_number": "PO-1002",
                         "lines": [{**purchase_order["lines"][0], "quantity": "-24"}]}, indent=1)
    r = hub.client.post(INBOUND, content=broken.encode())
    assert r.status_code == 422, r.text
    dl_id, receipt = r.json()["dead_letter_id"], r.json()["receipt_id"]
    fixed = broken.replace('"-24"', '"24"')
    edit = hub.client.post(f"/api/v1/deadletters/{dl_id}/edit", json={"raw": fixed, "reason": "sign typo"})
    assert edit.status_code == 202 and edit.json()["dead_letter_id"] == dl_id, edit.text
    hub.wait_for(lambda: dl(hub, dl_id)["status"] == "resolved")
    after = dl(hub, dl_id)
    assert after["raw"] == fixed and after["replay_count"] == 1  # same dead letter, same job, edited payload
    docs = hub.client.get("/api/v1/documents", params={"business_key": "ACME/PO-1002"}).json()["items"]
    assert len(docs) == 1
    audit = hub.client.get("/api/v1/audit", params={"action": "deadletter.edit"}).json()["items"]
    assert audit[0]["reason"] == "sign typo" and audit[0]["actor"] == "apikey:bootstrap"
    changed = [ln.strip() for ln in audit[0]["details"]["diff"].splitlines() if ln[:1] in "-+" and "quantity" in ln]
    assert changed == ['-   "quantity": "-24",', '+   "quantity": "24",']
    assert audit[0]["details"]["from_receipt"] == receipt  # the original raw is kept as received
    assert hub.client.get(f"/api/v1/receipts/{receipt}").json()["status"] == "edited"
    edits = hub.client.get(f"/api/v1/deadletters/{dl_id}/edits").json()["items"]
    assert [(e["editor"], e["kind"], e["from_receipt"]) for e in edits] == [("apikey:bootstrap", "raw", receipt)]

    # an edit that turns it into an order already held is recognised as a duplicate: no second write
    r2 = hub.client.post(INBOUND, content=broken.replace("PO-1002", "PO-1003").encode())
    canonical = json.loads(fixed)
    edit2 = hub.client.post(f"/api/v1/deadletters/{r2.json()['dead_letter_id']}/edit",
                            json={"canonical": canonical, "reason": "same order as PO-1002"})
    assert edit2.status_code == 202
    hub.wait_for(lambda: dl(hub, r2.json()["dead_letter_id"])["status"] == "resolved")
    assert len(hub.client.get("/api/v1/documents").json()["items"]) == 1
    hub.wait_for(lambda: len(receiver.requests) >= 1)
    time.sleep(1)
    assert len(receiver.requests) == 1


def test_replaying_twice_never_writes_downstream_twice(hub: HubProcess, purchase_order: dict[str, Any],
                                                       receiver: Receiver) -> None:
    receiver.status = 422  # the downstream system refuses: a permanent failure, dead-lettered at once
    hub.add_partner("ACME", destinations=[{"type": "http", "url": receiver.url}])
    assert hub.client.post(INBOUND, json=purchase_order).status_code == 201
    dls = hub.wait_for(lambda: hub.client.get("/api/v1/deadletters").json()["items"])
    assert dls[0]["stage"] == "deliver"
    refused = len(receiver.requests)
    receiver.status = 200
    first = hub.client.post(f"/api/v1/deadletters/{dls[0]['id']}/replay", json={"reason": "fixed downstream"})
    second = hub.client.post(f"/api/v1/deadletters/{dls[0]['id']}/replay", json={"reason": "clicked twice"})
    assert first.status_code == 202 and second.status_code == 409  # one replay at a time
    hub.wait_for(lambda: dl(hub, dls[0]["id"])["status"] == "resolved")
    assert hub.client.post(f"/api/v1/deadletters/{dls[0]['id']}/replay").status_code == 409
    time.sleep(1.5)
    accepted = receiver.requests[refused:]
    assert len(accepted) == 1 and accepted[0]["body"]["po_number"] == "PO-1001"


def test_poison_is_stopped_and_flagged_not_looped(hub: HubProcess, purchase_order: dict[str, Any]) -> None:
    r = hub.client.post("/api/v1/inbound/GLOBEX/purchase_order", json=purchase_order)
    dl_id = r.json()["dead_letter_id"]
    hub.client.post(f"/api/v1/deadletters/{dl_id}/replay", json={"reason": "try again"})
    hub.wait_for(lambda: dl(hub, dl_id)["status"] == "poisoned")  # same stage, same error: poison
    assert hub.client.get("/api/v1/deadletters", params={"status": "poisoned"}).json()["items"][0]["id"] == dl_id
    dry = hub.client.post("/api/v1/deadletters/bulk-replay", json={"partner": "GLOBEX"}).json()
    assert dry["dry_run"] and dry["count"] == 0  # bulk replay leaves poison alone
    time.sleep(1)
    assert dl(hub, dl_id)["replay_count"] == 1 and dl(hub, dl_id)["status"] == "poisoned"
    hub.add_partner("GLOBEX")  # the fix; an explicit replay then goes through
    hub.client.post(f"/api/v1/deadletters/{dl_id}/replay", json={"reason": "partner added"})
    hub.wait_for(lambda: dl(hub, dl_id)["status"] == "resolved")


def test_pause_and_resume_a_partner(hub: HubProcess, purchase_order: dict[str, Any]) -> None:
    hub.add_partner("ACME")
    paused = hub.client.post("/api/v1/deadletters/partners/ACME/pause", json={"reason": "ERP maintenance"})
    assert paused.status_code == 200 and paused.json()["paused"] is True
    r = hub.client.post(INBOUND, json=purchase_order, headers=ASYNC)
    time.sleep(2)
    assert hub.client.get(f"/api/v1/receipts/{r.json()['receipt_id']}").json()["status"] == "queued"
    assert hub.client.get("/api/v1/documents").json()["items"] == []
    resumed = hub.client.post("/api/v1/deadletters/partners/ACME/resume")
    assert resumed.json()["jobs_waiting"] == 1
    hub.wait_for(lambda: hub.client.get(f"/api/v1/receipts/{r.json()['receipt_id']}").json()["status"] == "processed")
    actions = [a["action"] for a in hub.client.get("/api/v1/audit", params={"target_type": "partner"}).json()["items"]]
    assert {"partner.pause", "partner.resume"} <= set(actions)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_pause_resume_and_bulk_replay_dry_run(hub: HubProcess, purchase_order: dict[str, Any]) -> None:
    def cli(*args: str) -> str:
        done = subprocess.run([str(BIN / "crossdock"), "dlq", *args], env=hub.env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    hub.add_partner("ACME")
    assert "partner ACME paused" in cli("pause", "ACME", "--reason", "maintenance")
    r = hub.client.post(INBOUND, json=purchase_order, headers=ASYNC)
    time.sleep(3)  # the hub rereads partner profiles every two seconds
    assert hub.client.get(f"/api/v1/receipts/{r.json()['receipt_id']}").json()["status"] == "queued"
    assert "resumed; 1 job(s) waiting" in cli("resume", "ACME")
    hub.wait_for(lambda: hub.client.get(f"/api/v1/receipts/{r.json()['receipt_id']}").json()["status"] == "processed")
    hub.client.post("/api/v1/inbound/NOPE/purchase_order", json=purchase_order)
    assert "would replay 1 dead letter(s)" in cli("bulk-replay", "--partner", "NOPE", "--dry-run")


@pytest.mark.slow
@pytest.mark.parametrize("hub", ["embedded"], indirect=True)
def test_bulk_replay_of_1000_respects_the_rate_limit(hub: HubProcess, purchase_order: dict[str, Any]) -> None:
    n, rate = 1000, 250.0
    for i in range(n):
        body = json.dumps({**purchase_order, "po_number": f"PO-B{i:04d}"}).encode()
        assert hub.client.post("/api/v1/inbound/GLOBEX/purchase_order", content=body, headers=ASYNC).status_code in (202, 422)
    hub.wait_for(lambda: hub.client.post("/api/v1/deadletters/bulk-replay", json={"partner": "GLOBEX"})
                 .json()["count"] == n, timeout=120, interval=1)
    hub.add_partner("GLOBEX")
    started = time.monotonic()
    run = hub.client.post("/api/v1/deadletters/bulk-replay",
                          json={"partner": "GLOBEX", "rate": rate, "dry_run": False, "reason": "partner added"})
    assert run.status_code == 200 and run.json()["count"] == n and run.json()["seconds"] == n / rate

    hub.wait_for(lambda: len(docs(hub)) >= n // 2, timeout=60, interval=0.2)
    assert time.monotonic() - started >= (n // 2) / rate * 0.8  # not faster than the rate
    hub.wait_for(lambda: len(docs(hub)) == n, timeout=120, interval=0.5)
    assert time.monotonic() - started >= n / rate * 0.9
    assert hub.client.post("/api/v1/deadletters/bulk-replay", json={"partner": "GLOBEX"}).json()["count"] == 0
    audit = hub.client.get("/api/v1/audit", params={"action": "deadletter.bulk_replay"}).json()["items"]
    assert audit[0]["details"]["count"] == n and audit[0]["details"]["rate"] == rate


def docs(hub: HubProcess) -> list[Any]:
    out: list[Any] = []
    cursor = None
    while True:
        page = hub.client.get("/api/v1/documents", params={"partner": "GLOBEX", "limit": 500,
                                                          **({"cursor": cursor} if cursor else {})}).json()
        out += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return out
