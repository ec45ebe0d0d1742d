"""Reconciliation against the real mock-sap: a clean run, then four planted differences.

Each difference opens one case; a second run finds them again without opening them twice.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.erp_support import (
    FAST_RETRIES,
    SOLD_TO,
    add_erp_customer,
    erp_number,
    order,
    post_order,
)
from tests.support.hubproc import BIN, HubProcess
from tests.support.mock_sap import MockSap


@pytest.fixture
def erp_hub(tmp_path: Path, database_url: str, mock_sap: MockSap) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path / "hub", database_url=database_url, env=FAST_RETRIES).start()
    add_erp_customer(hub, mock_sap.base_url)
    try:
        yield hub
    finally:
        hub.close()


def run(hub: HubProcess, job: str = "all") -> dict[str, Any]:
    r = hub.client.post("/api/v1/reconciliation/runs", json={"job": job, "reason": "test"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def plant_sales_order(sap: MockSap, po: str) -> str:
    """Someone keys an order for our customer straight into the ERP."""
    body = {"SalesOrderType": "OR", "SalesOrganization": "1710", "DistributionChannel": "10",
            "OrganizationDivision": "00", "SoldToParty": SOLD_TO, "PurchaseOrderByCustomer": po,
            "TransactionCurrency": "EUR", "to_Item": [{"Material": "TG12", "RequestedQuantity": "1"}]}
    r = sap.control._http.post("/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder", json=body,
                               headers={**sap.control._csrf_headers(), "Accept": "application/json"})
    r.raise_for_status()
    return str(r.json()["d"]["SalesOrder"])


def change_quantity(sap: MockSap, sales_order: str, item: str, quantity: str) -> None:
    """Someone changes the ERP order's quantity by hand."""
    path = f"/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrderItem(SalesOrder='{sales_order}',SalesOrderItem='{item}')"
    r = sap.control._http.patch(path, json={"RequestedQuantity": quantity},
                                headers={**sap.control._csrf_headers(), "If-Match": "*"})
    r.raise_for_status()


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_reconciliation_finds_what_was_planted_and_nothing_else(erp_hub: HubProcess, mock_sap: MockSap) -> None:
    post_order(erp_hub, order("PO-REC-1"))
    shipped = erp_number(erp_hub, "ACME/PO-REC-1")
    post_order(erp_hub, order("PO-REC-3"))
    changed = erp_number(erp_hub, "ACME/PO-REC-3")

    clean = run(erp_hub)
    assert (clean["status"], clean["mismatched"], clean["checked"], clean["matched"]) == ("finished", 0, 2, 2), clean
    # the CLI runs the same jobs and records its run too
    out = subprocess.run([str(BIN / "crossdock"), "reconcile", "sales_orders"], env=erp_hub.env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout[out.stdout.index("{"):])["mismatched"] == 0

    # 1. an ERP order nobody sent through the hub
    planted = plant_sales_order(mock_sap, "PO-KEYED-BY-HAND")
    # 2. an order the ERP never got: its write-back was refused and dead-lettered
    mock_sap.control.add_fault(match="A_SalesOrder$", method="POST", scenario="auth", count=1)
    post_order(erp_hub, order("PO-REC-2"))
    erp_hub.wait_for(lambda: erp_hub.client.get("/api/v1/deadletters").json()["items"])
    # 3. shipped, never billed
    delivery = mock_sap.control.generate_idoc("DELVRY", shipped)["delivery"]
    # 4. the ERP order's quantity changed by hand
    change_quantity(mock_sap, changed, "000010", "7")

    found = run(erp_hub)
    assert found["status"] == "finished" and found["mismatched"] == 4, found
    by_kind = {m["kind"]: m for m in found["mismatches"]}
    assert by_kind["orphan_sales_order"]["subject"] == planted
    assert by_kind["missing_sales_order"]["subject"] == "ACME/PO-REC-2"
    assert by_kind["delivery_not_billed"]["subject"] == delivery
    assert by_kind["quantity_mismatch"]["subject"] == "ACME/PO-REC-3"
    cases = {c["type"]: c for c in erp_hub.client.get("/api/v1/cases", params={"limit": 100}).json()["items"]
             if c["type"].startswith("reconcile.")}
    assert set(cases) == {f"reconcile.{k}" for k in by_kind}
    detail = erp_hub.client.get(f"/api/v1/cases/{cases['reconcile.quantity_mismatch']['id']}").json()
    assert detail["details"]["quantities"] == {"TG11": ["8", "12"]}  # 3 + 5 ordered (two lines, one material) and detail["details"]["sales_orders"] == [changed]

    again = run(erp_hub)
    assert again["mismatched"] == 4 and not any(m["new_case"] for m in again["mismatches"])
    assert len([c for c in erp_hub.client.get("/api/v1/cases", params={"limit": 100}).json()["items"]
                if c["type"].startswith("reconcile.")]) == 4

    mock_sap.control.generate_idoc("INVOIC", shipped)  # billed now: the billing job is clean
    billing = run(erp_hub, "billing")
    assert (billing["mismatched"], billing["matched"]) == (0, 1), billing
    runs = erp_hub.client.get("/api/v1/reconciliation/runs").json()["items"]
    assert [r["id"] for r in runs][:4] == [billing["id"], again["id"], found["id"], found["id"] - 1]
    one = erp_hub.client.get(f"/api/v1/reconciliation/runs/{found['id']}").json()
    assert one["started_at"] <= one["finished_at"] and len(one["mismatches"]) == 4
