"""Degraded mode: the ERP is down while 200 orders arrive; they wait in the outbox, then drain.

The hub answers every order at once, the outbox API and the metrics show the backlog and its
age, and once mock-sap listens on the ERP's address every order becomes exactly one sales
order; a change of an order is written only after its original (per business key).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.erp_support import SOLD_TO, add_erp_customer, documents, order
from tests.support.hubproc import HubProcess
from tests.support.mock_sap import MockSap
from tests.support.services import free_port

ORDERS = 200
CHANGED = 20  # the first 20 orders also get a change (revision 1)


def outbox(hub: HubProcess) -> dict[str, object]:
    return dict(hub.client.get("/api/v1/outbox").json())


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_erp_down_orders_wait_then_drain_once_each_in_order(
        tmp_path: Path, database_url: str, mock_sap_factory: Callable[..., MockSap]) -> None:
    port = free_port()
    env = {"CROSSDOCK_RETRY_INITIAL_SECONDS": "0.2", "CROSSDOCK_RETRY_MAX_SECONDS": "1",
           "CROSSDOCK_RETRY_MAX_ATTEMPTS": "10000", "CROSSDOCK_WORKERS": "8"}
    hub = HubProcess(tmp_path / "hub", database_url=database_url, env=env).start()
    try:
        add_erp_customer(hub, f"http://127.0.0.1:{port}", timeout_seconds=10)
        for n in range(ORDERS):
            r = hub.client.post("/api/v1/inbound/ACME/purchase_order", json=order(f"PO-DOWN-{n:03d}"),
                                headers={"Prefer": "respond-async"})
            assert r.status_code in (201, 202), r.text
        for n in range(CHANGED):
            r = hub.client.post("/api/v1/inbound/ACME/purchase_order", headers={"Prefer": "respond-async"},
                                json=order(f"PO-DOWN-{n:03d}", revision=1, purpose="change",
                                           lines=[("TG11", "4", "999.00")]))
            assert r.status_code in (201, 202), r.text

        waiting = hub.wait_for(lambda: (o := outbox(hub))["open"] == ORDERS + CHANGED and o["degraded"] and o,
                               timeout=120)
        [group] = waiting["destinations"]
        assert group["type"] == "sap_s4" and "SAP unreachable" in group["last_error"], group
        assert group["oldest_seconds"] > 0 and group["retrying"] > 0
        metrics = hub.client.get("/metrics").text
        oldest = re.search(r'crossdock_backlog_oldest_seconds\{kind="deliver"\} ([0-9.e+]+)', metrics)
        assert oldest and float(oldest.group(1)) > 0
        assert re.search(r'crossdock_jobs\{kind="deliver",status="retrying"\} [1-9]', metrics)
        # a change never goes before its original: while the original waits, it is not even tried
        change = documents(hub, "ACME/PO-DOWN-000")[-1]
        detail = hub.client.get(f"/api/v1/documents/{change['id']}").json()
        assert [d["attempts"] for d in detail["deliveries"]] == [0]

        sap = mock_sap_factory(extra=("--port", str(port)))  # the ERP is back, at the same address
        hub.wait_for(lambda: outbox(hub)["open"] == 0, timeout=300, interval=1.0)

        orders = sap.control.odata("A_SalesOrder", filter=f"SoldToParty eq '{SOLD_TO}'")
        per_po = Counter(so["PurchaseOrderByCustomer"] for so in orders
                         if so["PurchaseOrderByCustomer"].startswith("PO-DOWN-"))
        assert len(per_po) == ORDERS and set(per_po.values()) == {1}, per_po.most_common(3)
        numbers = {so["PurchaseOrderByCustomer"]: so["SalesOrder"] for so in orders}
        for n in range(ORDERS):
            docs = documents(hub, f"ACME/PO-DOWN-{n:03d}")
            assert [d["erp_document_number"] for d in docs] == [numbers[f"PO-DOWN-{n:03d}"]] * len(docs)
        for n in range(CHANGED):
            original, changed = (hub.client.get(f"/api/v1/documents/{d['id']}").json()
                                 for d in documents(hub, f"ACME/PO-DOWN-{n:03d}"))
            done = [a["at"] for a in original["attempts"] if a["job_id"] == original["deliveries"][0]["job_id"]]
            tried = [a["at"] for a in changed["attempts"] if a["job_id"] == changed["deliveries"][0]["job_id"]]
            assert done and tried and max(done) <= min(tried), (n, done, tried)
    finally:
        hub.close()
