"""An accepted customer order becomes exactly one sales order in mock-sap, whatever fails.

Real ``crossdock serve`` and real mock-sap (CSRF on): the order is posted to the hub, the
outbox relays it to the ``sap_s4`` destination, and the ERP's number lands on the document.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.erp_support import (
    FAST_RETRIES,
    SOLD_TO,
    add_erp_customer,
    documents,
    erp_number,
    order,
    post_order,
    sales_orders,
)
from tests.support.hubproc import HubProcess
from tests.support.mock_sap import MockSap


@pytest.fixture
def sap(mock_sap_factory: Callable[..., MockSap]) -> MockSap:
    return mock_sap_factory(slow_ms=2500)


@pytest.fixture
def hub_env() -> dict[str, str]:
    return FAST_RETRIES


@pytest.fixture
def erp_hub(hub: HubProcess, sap: MockSap) -> HubProcess:
    """Embedded on SQLite, and distributed (serve + worker + scheduler) on PostgreSQL and RabbitMQ."""
    add_erp_customer(hub, sap.base_url, timeout_seconds=1)
    return hub


def test_order_becomes_one_sales_order_with_its_number_on_the_document(erp_hub: HubProcess, sap: MockSap) -> None:
    post_order(erp_hub, order("PO-ERP-1"))
    number = erp_number(erp_hub, "ACME/PO-ERP-1")
    [so] = sales_orders(sap, "PO-ERP-1")
    assert so["SalesOrder"] == number and so["SoldToParty"] == SOLD_TO
    items = [(i["Material"], Decimal(i["RequestedQuantity"]), Decimal(i["NetAmount"]))
             for i in so["to_Item"]["results"]]
    assert items == [("TG11", Decimal(3), Decimal("2997.00")), ("TG11", Decimal(5), Decimal("2252.50"))]
    [doc] = documents(erp_hub, "ACME/PO-ERP-1")
    assert doc["status"] == "delivered"
    # the same order again is already seen: still one sales order
    r = erp_hub.client.post("/api/v1/inbound/ACME/purchase_order", json=order("PO-ERP-1"))
    assert r.json()["status"] == "already_seen", r.text
    assert len(sales_orders(sap, "PO-ERP-1")) == 1


FAULTS = ["busy", "lock", "error", "csrf", "expired-token", "slow"]


def test_faults_on_the_sales_order_post_still_create_exactly_one(erp_hub: HubProcess, sap: MockSap) -> None:
    """``slow`` answers after 2.5 s, above the gateway's 1 s timeout, and writes anyway."""
    for scenario in FAULTS:
        sap.control.add_fault(match="A_SalesOrder$", method="POST", scenario=scenario, count=1)
        po = f"PO-FAULT-{scenario.upper()}"
        post_order(erp_hub, order(po))
        number = erp_number(erp_hub, f"ACME/{po}")
        assert [so["SalesOrder"] for so in sales_orders(sap, po)] == [number], scenario
        assert sap.control.faults() == [], f"{scenario}: the fault was never hit"
    posts = [r for r in sap.control.requests(limit=500)
             if r.get("method") == "POST" and str(r.get("path", "")).endswith("A_SalesOrder")]
    assert len(posts) >= 2 * len(FAULTS) - 1  # each fault cost a second POST (or a look-up, after the timeout)


def test_authorization_failure_is_a_dead_letter_and_unknown_material_a_case(
        erp_hub: HubProcess, sap: MockSap) -> None:
    sap.control.add_fault(match="A_SalesOrder", scenario="auth", count=0)
    post_order(erp_hub, order("PO-AUTH-1"))
    dead = erp_hub.wait_for(lambda: erp_hub.client.get("/api/v1/deadletters").json()["items"])
    assert dead[0]["error_code"] == "erp.unauthorized" and dead[0]["stage"] == "deliver"
    sap.control.clear_faults()

    post_order(erp_hub, order("PO-MAT-1", lines=[("TG11", "1", "999.00"), ("NO-SUCH-MATERIAL", "2", "1.00")]))
    cases = erp_hub.wait_for(lambda: erp_hub.client.get("/api/v1/cases").json()["items"])
    assert cases[0]["type"] == "erp.rejected.unknown_material", cases
    assert sales_orders(sap, "PO-AUTH-1") == [] and sales_orders(sap, "PO-MAT-1") == []
    assert [d["erp_document_number"] for d in documents(erp_hub, "ACME/PO-MAT-1")] == [None]


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_distributed_workers_write_each_order_once_even_after_a_timeout(
        tmp_path: Path, database_url: str, sap: MockSap) -> None:
    """Two workers: the retry after a timed-out create may land on the other one. It comes no
    sooner than the gateway's in-doubt hold (a Retry-After persisted as the job's next attempt),
    by when the late write has landed and the look-up finds it."""
    from tests.support.cluster import Cluster

    env = {**FAST_RETRIES, "CROSSDOCK_RETRY_AFTER_CAP_SECONDS": "6"}
    cluster = Cluster(tmp_path / "cluster", database_url=database_url, workers=2, env=env).start()
    try:
        add_erp_customer(cluster, sap.base_url, timeout_seconds=1, in_doubt_hold_seconds=5)
        sap.control.add_fault(match="A_SalesOrder$", method="POST", scenario="slow", count=1)
        for po in ("PO-DIST-1", "PO-DIST-2", "PO-DIST-3"):
            post_order(cluster, order(po))
        for po in ("PO-DIST-1", "PO-DIST-2", "PO-DIST-3"):
            number = erp_number(cluster, f"ACME/{po}", timeout=60)
            assert [so["SalesOrder"] for so in sales_orders(sap, po)] == [number], po
        assert sap.control.faults() == []
    finally:
        cluster.close()
