"""A customer's 860 changes and then cancels its sales order in mock-sap, each exactly once.

mock-edi (the customer) places an order with Crossdock, changes it (a quantity, a deleted
line and an added line) and cancels it; each goes through the hub to the ERP. The change's write meets
``busy`` (503) and then ``slow`` (the ERP writes after the gateway gave up), and is still
applied once: the retry reads the sales order again before it writes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.edi_support import LINES, wire_seller
from tests.e2e.erp_support import FAST_RETRIES, erp_destination, sales_orders
from tests.support.hubproc import HubProcess
from tests.support.mock_edi import MockEdi
from tests.support.mock_sap import MockSap

pytestmark = [pytest.mark.slow, pytest.mark.mock_sap, pytest.mark.mock_edi]

PO = "PO-ERP-CHG-1"


def so_items(sap: MockSap) -> list[tuple[str, str, Decimal, Decimal]] | None:
    found = sales_orders(sap, PO)
    if len(found) != 1:
        return None
    return [(i["SalesOrderItem"], i["Material"], Decimal(i["RequestedQuantity"]), Decimal(i["NetAmount"]))
            for i in found[0]["to_Item"]["results"]]


def change_calls(sap: MockSap) -> int:
    rows = httpx.get(f"{sap.base_url}/_mock/rfc-log", params={"limit": 100}, timeout=10).json()["results"]
    return sum(1 for r in rows if r["function_name"] == "BAPI_SALESORDER_CHANGE")


def revisions(hub: HubProcess) -> list[dict[str, Any]]:
    r = hub.client.get("/api/v1/documents", params={"business_key": f"MOCKEDI/{PO}"})
    return sorted(r.json()["items"], key=lambda d: d["id"])


def delivered(hub: HubProcess, count: int) -> Callable[[], list[dict[str, Any]] | None]:
    def check() -> list[dict[str, Any]] | None:
        docs = revisions(hub)
        return docs if len(docs) == count and docs[-1]["status"] == "delivered" else None  # older: superseded
    return check


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_860_change_and_a_cancel_reach_the_sales_order_once_despite_faults(
        tmp_path: Path, database_url: str, mock_edi: MockEdi, mock_sap_factory: Callable[..., MockSap]) -> None:
    sap = mock_sap_factory(slow_ms=2500)
    hub = HubProcess(tmp_path / "hub", database_url=database_url, env=FAST_RETRIES).start()
    try:
        wire_seller(hub, mock_edi)
        dest = erp_destination(sap.base_url, timeout_seconds=1, in_doubt_hold_seconds=4, item_cancellation="delete")
        dest["erp"]["materials"] = {"WIDGET-001": "TG11", "BRKT-050": "TG12", "GEAR-100": "TG13"}
        profile = hub.client.get("/api/v1/partners/MOCKEDI").json()
        assert hub.client.put("/api/v1/partners/MOCKEDI", json={**profile, "destinations": [dest]}).status_code == 200

        mock_edi.client.purchase("CROSSDOCK", LINES, po_number=PO)
        [original] = hub.wait_for(delivered(hub, 1), timeout=40)
        number = original["erp_document_number"]
        assert so_items(sap) == [("000010", "TG11", Decimal(10), Decimal("125.00")),
                                 ("000020", "TG12", Decimal(4), Decimal("16.60"))]

        # the change: line 1 from 10 to 15, line 2 deleted (POC02 DI), a new line (AI); its write
        # meets busy, then a timeout
        sap.control.add_fault(match="/sap/bc/srt/", method="POST", scenario="busy", count=1)
        sap.control.add_fault(match="/sap/bc/srt/", method="POST", scenario="slow", count=1)
        r = mock_edi.client.call("POST", f"/_mock/purchase/{PO}/change", json={"partner": "CROSSDOCK", "lines": [
            {"line": "1", "quantity": "15"}, {"line": "2", "action": "delete"},
            {"action": "add", "sku": "GEAR-100", "quantity": "6", "uom": "EA", "price": "8.90"}]})
        assert r.status_code < 300, r.text
        docs = hub.wait_for(delivered(hub, 2), timeout=60)
        assert [d["revision"] for d in docs] == ["0", "1"] and docs[1]["erp_document_number"] == number
        assert so_items(sap) == [("000010", "TG11", Decimal(15), Decimal("187.50")),
                                 ("000030", "TG13", Decimal(6), Decimal("53.40"))]  # 000020 deleted
        assert sap.control.faults() == [], "both faults were met"
        assert change_calls(sap) == 1  # the timed-out call wrote; the retry read that and sent nothing

        # the cancel: every item of the sales order goes (item_cancellation: delete)
        r = mock_edi.client.call("POST", f"/_mock/purchase/{PO}/change", json={"partner": "CROSSDOCK",
                                                                               "cancel": True})
        assert r.status_code < 300, r.text
        docs = hub.wait_for(delivered(hub, 3), timeout=40)
        assert docs[2]["erp_document_number"] == number
        assert so_items(sap) == []
        assert change_calls(sap) == 2
        assert [so["SalesOrder"] for so in sales_orders(sap, PO)] == [number]
        cases = hub.client.get("/api/v1/cases").json()["items"]  # the EDI side notes a change after the 855
        assert [c for c in cases if c["type"].startswith("erp.")] == [], cases
    finally:
        hub.close()
