"""Crossdock as seller between mock-edi (the customer) and mock-sap (the ERP).

An 850 from mock-edi becomes exactly one sales order with the right customer, items,
quantities and prices; the ERP's confirmation goes back as the 855, and the delivery and the
billing document mock-sap then creates as an 856 and an 810, each once, and mock-edi accepts
them without findings; the partner-documents reconciliation then finds all three sent and
acknowledged.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.edi_support import LINES, outbound, wire_seller
from tests.e2e.erp_support import FAST_RETRIES, SOLD_TO, erp_destination, sales_orders
from tests.support.hubproc import HubProcess
from tests.support.mock_edi import MockEdi
from tests.support.mock_sap import MockSap

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_850_becomes_one_sales_order_and_the_erp_answers_with_855_856_810(
        tmp_path: Path, database_url: str, mock_edi: MockEdi, mock_sap: MockSap) -> None:
    hub = HubProcess(tmp_path / "hub", database_url=database_url,
                     env={**FAST_RETRIES, "CROSSDOCK_ERP_POLL_SECONDS": "0.5"}).start()
    try:
        wire_seller(hub, mock_edi, auto_respond=())  # 855, 856 and 810 come from the ERP
        dest = erp_destination(mock_sap.base_url)
        dest["erp"]["materials"] = {"WIDGET-001": "TG11", "BRKT-050": "TG12"}
        profile = hub.client.get("/api/v1/partners/MOCKEDI").json()
        r = hub.client.put("/api/v1/partners/MOCKEDI", json={**profile, "destinations": [dest]})
        assert r.status_code == 200, r.text
        mock_edi.client.purchase("CROSSDOCK", LINES, po_number="PO-ERP-E1")

        def written() -> list[dict[str, object]]:
            docs = hub.client.get("/api/v1/documents", params={"document_type": "purchase_order"}).json()["items"]
            return [d for d in docs if d["erp_document_number"]]
        [doc] = hub.wait_for(written, timeout=40)
        [so] = sales_orders(mock_sap, "PO-ERP-E1")
        assert (so["SalesOrder"], so["SoldToParty"]) == (doc["erp_document_number"], SOLD_TO)
        assert [(i["Material"], Decimal(i["RequestedQuantity"]), Decimal(i["NetAmount"]))
                for i in so["to_Item"]["results"]] == [("TG11", Decimal(10), Decimal("125.00")),
                                                       ("TG12", Decimal(4), Decimal("16.60"))]

        ack = hub.wait_for(lambda: [r for r in outbound(hub, partner="MOCKEDI") if r["set_id"] == "855"], timeout=30)
        assert len(ack) == 1
        delivery = mock_sap.control.generate_idoc("DELVRY", so["SalesOrder"])["delivery"]
        hub.wait_for(lambda: any(r["set_id"] == "856" for r in outbound(hub, partner="MOCKEDI")), timeout=30)
        billing = mock_sap.control.generate_idoc("INVOIC", so["SalesOrder"])["billing_document"]

        def settled() -> list[dict[str, object]] | None:
            rows = [r for r in outbound(hub, partner="MOCKEDI") if r["set_id"] in ("855", "856", "810")]
            done = len(rows) == 3 and all(r["status"] == "sent" and r["ack_status"] != "pending" for r in rows)
            return rows if done else None
        rows = hub.wait_for(settled, timeout=40)
        assert [r["set_id"] for r in rows] == ["855", "856", "810"]
        assert all(r["ack_status"] == "accepted" for r in rows), rows
        events = mock_edi.client.timeline("PO-ERP-E1")["events"]
        received = [e for e in events if e["event"] == "received"]
        assert [e["code"] for e in received] == ["855", "856", "810"]
        assert all(e["findings"] == [] and e["accepted"] for e in received), received
        assert mock_edi.client.call("GET", "/_mock/disagreements", params={"po": "PO-ERP-E1"}).json() in ([], {})
        numbers = {d["erp_document_number"] for d in hub.client.get("/api/v1/documents").json()["items"]}
        assert {so["SalesOrder"], delivery, billing} <= numbers
        # reconciliation: each ERP document went out as EDI, was acknowledged, and the 810 bills what the ERP billed
        r = hub.client.post("/api/v1/reconciliation/runs", json={"job": "partner_documents"})
        assert r.status_code == 201, r.text
        assert (r.json()["checked"], r.json()["matched"], r.json()["mismatched"]) == (3, 3, 0), r.json()
    finally:
        hub.close()
