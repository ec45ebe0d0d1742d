"""Crossdock as buyer between mock-sap (the ERP) and mock-edi (the supplier).

A purchase order entered in the ERP goes to the supplier as one 850, however often the
ERP is read; the supplier's 855, 856 and 810 come back and are posted against that
purchase order once each: a confirmation IDoc, a goods receipt and a supplier invoice,
whose numbers the hub keeps on the supplier's documents.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.edi_support import outbound, received, wire_buyer
from tests.e2e.erp_support import FAST_RETRIES, create_purchase_order, documents, sap_read
from tests.support.hubproc import HubProcess
from tests.support.mock_edi import MockEdi, MockEdiError
from tests.support.mock_sap import MockSap

pytestmark = [pytest.mark.slow, pytest.mark.mock_sap, pytest.mark.mock_edi]

SUPPLIER = "1000012"  # a supplier with no purchase orders in mock-sap's seed


def supplier_destination(sap_url: str) -> dict[str, Any]:
    return {"type": "sap_s4", "document_types": ["order_acknowledgment", "ship_notice", "invoice"],
            "erp": {"connection": {"base_url": sap_url, "auth": "none", "timeout_seconds": 5},
                    "supplier": SUPPLIER, "items": {"TG11": "WIDGET-001", "TG12": "BRKT-050"},
                    "buyer_name": "Crossdock Buyer",
                    "purchase_orders_created_from": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}}


def timeline(mock: MockEdi, po: str) -> list[dict[str, Any]]:
    try:
        return list(mock.client.timeline(po)["events"])
    except MockEdiError:  # not filed yet
        return []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_erp_purchase_order_goes_out_once_and_the_replies_are_posted_against_it(
        tmp_path: Path, database_url: str, mock_edi: MockEdi, mock_sap: MockSap) -> None:
    hub = HubProcess(tmp_path / "hub", database_url=database_url,
                     env={**FAST_RETRIES, "CROSSDOCK_ERP_POLL_SECONDS": "0.5"}).start()
    try:
        wire_buyer(hub, mock_edi)  # the supplier MOCKSELLER is mock-edi; Crossdock trades as its customer ACME
        profile = hub.client.get("/api/v1/partners/MOCKSELLER").json()
        r = hub.client.put("/api/v1/partners/MOCKSELLER",
                           json={**profile, "destinations": [supplier_destination(mock_sap.base_url)]})
        assert r.status_code == 200, r.text
        po = create_purchase_order(mock_sap, SUPPLIER, [("TG11", "10", "12.50"), ("TG12", "4", "4.15")])

        # the 850: sent once, acknowledged, filed by the supplier without findings
        [sent] = hub.wait_for(lambda: outbound(hub, partner="MOCKSELLER", set_id="850") or None, timeout=30)
        assert sent["po_number"] == po
        [order_doc] = documents(hub, f"ACME/{po}")
        assert order_doc["erp_document_number"] == po
        events = hub.wait_for(lambda: [e for e in timeline(mock_edi, po)
                                       if e["event"] == "received" and e["code"] == "850"] or None, timeout=30)
        assert [(e["accepted"], e["findings"]) for e in events] == [(True, [])]

        # the supplier's replies, each posted once against the purchase order
        replies = hub.wait_for(lambda: (rows := [x for x in received(hub, partner="MOCKSELLER", po_number=po)
                                                 if x["status"] != "ack"]) and len(rows) >= 3 and rows, timeout=40)
        assert sorted(x["set_id"] for x in replies) == ["810", "855", "856"]

        def posted() -> dict[str, str] | None:
            docs = hub.client.get("/api/v1/documents", params={"partner_id": "MOCKSELLER"}).json()["items"]
            numbers = {d["document_type"]: d["erp_document_number"] for d in docs
                       if d["document_type"] in ("order_acknowledgment", "ship_notice", "invoice")}
            return numbers if len(numbers) == 3 and all(numbers.values()) else None
        numbers = hub.wait_for(posted, timeout=40)

        [idoc] = [i for i in mock_sap.control.idocs(mestyp="ORDRSP")]
        assert (idoc["status"], idoc["docnum"].lstrip("0")) == ("53", numbers["order_acknowledgment"].lstrip("0"))
        [receipt] = sap_read(mock_sap, "API_MATERIAL_DOCUMENT_SRV", "A_MaterialDocumentHeader",
                             filter=f"MaterialDocument eq '{numbers['ship_notice']}'", expand="to_MaterialDocumentItem")
        assert sorted((i["PurchaseOrder"], i["PurchaseOrderItem"], Decimal(i["QuantityInEntryUnit"]))
                      for i in receipt["to_MaterialDocumentItem"]["results"]) == [
            (po, "00010", Decimal(10)), (po, "00020", Decimal(4))]
        [invoice] = sap_read(mock_sap, "API_SUPPLIERINVOICE_PROCESS_SRV", "A_SupplierInvoice",
                             filter=f"InvoicingParty eq '{SUPPLIER}'", expand="to_SuplrInvcItemPurOrdRef")
        assert invoice["SupplierInvoice"] == numbers["invoice"]
        assert Decimal(invoice["InvoiceGrossAmount"]) == Decimal("141.60")
        assert {i["PurchaseOrder"] for i in invoice["to_SuplrInvcItemPurOrdRef"]["results"]} == {po}

        # read again and again by the feed: still one 850, one confirmation, one receipt, one invoice
        reads = [q for q in mock_sap.control.requests(limit=200) if "CreationDate" in q.get("query", "")]
        assert len(reads) >= 2
        assert len(outbound(hub, partner="MOCKSELLER", set_id="850")) == 1
        assert len(mock_sap.control.idocs(mestyp="ORDRSP")) == 1
        assert len(sap_read(mock_sap, "API_SUPPLIERINVOICE_PROCESS_SRV", "A_SupplierInvoice",
                            filter=f"InvoicingParty eq '{SUPPLIER}'")) == 1
    finally:
        hub.close()
