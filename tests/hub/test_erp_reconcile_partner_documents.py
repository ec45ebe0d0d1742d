"""Reconciling what mock-sap confirmed, delivered and billed with the 855/856/810 the hub sent.

Two customer orders become sales orders in mock-sap, which delivers and bills both; the
hub's ERP feed queues their 855/856/810. Once all six are sent and acknowledged the run is
clean. Then each kind is planted - an 855 rejected by the partner, an 856 unacknowledged
past its due time, an 810 whose sending failed, an 810 billing another amount, an order
whose 855 never went, and a sales order whose value was changed by hand - and each opens
one case with the hub's order attached.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from canonical.documents import PurchaseOrder
from hub.erp.destination import gateway_for
from hub.erp.documents import ErpDocumentFeed
from hub.reconcile import Reconciler
from hub.storage.db import Database
from hub.storage.edi_tables import EdiOutbound
from hub.storage.reconcile_tables import ReconcileRun
from hub.storage.tables import Case, Document, Partner, utcnow
from tests.support.mock_sap import MockSap
from tests.support.services import sqlite_database

pytestmark = pytest.mark.mock_sap

SOLD_TO = "1000001"
EDI = {"standard": "x12", "interchange_id": "SHOPCO", "our_interchange_id": "CROSSDOCK"}


def order(po: str) -> PurchaseOrder:
    return PurchaseOrder.model_validate({
        "po_number": po, "order_date": "2026-11-23", "currency": "EUR", "buyer": {"id": "SHOPCO"},
        "lines": [{"line_number": "1", "vendor_item": "TG11", "quantity": "3", "unit_price": "10.00"},
                  {"line_number": "2", "vendor_item": "TG12", "quantity": "2", "unit_price": "7.50"}]})


def test_partner_documents_clean_then_each_planted_difference_opens_a_case(tmp_path: Path, mock_sap: MockSap) -> None:
    db = Database(sqlite_database(tmp_path / "hub.db"))
    connection = {"base_url": mock_sap.base_url, "auth": "none"}
    with db.session() as s:
        s.add(Partner(id="SHOPCO", name="Shop Co", role="customer", profile={"edi": EDI, "destinations": [
            {"type": "sap_s4", "document_types": ["purchase_order"],
             "erp": {"connection": connection, "sold_to": SOLD_TO}}]}))
    gateway = gateway_for(connection)

    def accept(po: str) -> tuple[int, str]:
        """The hub accepted the order and wrote it to the ERP."""
        doc = order(po)
        number = gateway.ensure_sales_order(doc, sold_to=SOLD_TO, materials={"1": "TG11", "2": "TG12"}).sales_order
        with db.session() as s:
            row = Document(partner_id="SHOPCO", document_type="purchase_order", idempotency_key=doc.idempotency_key,
                           business_key=doc.business_key, canonical=doc.model_dump(mode="json"), status="delivered",
                           erp_document_number=number)
            s.add(row)
            s.flush()
            return row.id, number

    def run(job: str = "partner_documents") -> tuple[int, int, dict[str, Any]]:
        run_id = Reconciler(db).run(job, trigger="api")
        with db.reader() as s:
            found = s.get(ReconcileRun, run_id)
            assert found is not None and found.status == "finished", found and found.error
            return found.checked, found.matched, {m["kind"]: m for m in found.details["mismatches"]}

    def outbound(po: str, document_type: str) -> Any:
        return (EdiOutbound.po_number == po) & (EdiOutbound.document_type == document_type)

    clean_id, clean_so = accept("PO-PD-1")
    planted_id, planted_so = accept("PO-PD-2")
    for number in (clean_so, planted_so):
        mock_sap.control.generate_idoc("DELVRY", number)
        mock_sap.control.generate_idoc("INVOIC", number)
    assert ErpDocumentFeed(db).run() == {"order_acknowledgment": 2, "ship_notice": 2, "invoice": 2}
    with db.session() as s:
        s.execute(update(EdiOutbound).values(status="sent", ack_status="accepted", acknowledged_at=utcnow()))
    assert run() == (6, 6, {})

    with db.session() as s:
        s.execute(update(EdiOutbound).where(outbound("PO-PD-2", "order_acknowledgment")).values(ack_status="rejected"))
        s.execute(update(EdiOutbound).where(outbound("PO-PD-2", "ship_notice"))
                  .values(ack_status="pending", ack_due_at=utcnow() - timedelta(hours=1)))
        s.execute(update(EdiOutbound).where(outbound("PO-PD-2", "invoice")).values(status="failed"))
        invoice = s.scalar(select(EdiOutbound).where(outbound("PO-PD-1", "invoice")))
        assert invoice is not None and invoice.canonical is not None
        billed = dict(invoice.canonical)
        billed["lines"] = [{**ln, "unit_price": "11.00"} if ln["line_number"] == "1" else ln for ln in billed["lines"]]
        invoice.canonical = billed
    unconfirmed_id, unconfirmed_so = accept("PO-PD-3")  # its 855 never goes: the feed does not run again
    path = (f"/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrderItem(SalesOrder='{clean_so}',SalesOrderItem='000020')")
    mock_sap.control._http.patch(path, json={"NetAmount": "16.00"},
                                 headers={**mock_sap.control._csrf_headers(), "If-Match": "*"}).raise_for_status()

    checked, matched, found = run("all")
    assert set(found) == {"partner_document_rejected", "partner_document_unacknowledged", "partner_document_unsent",
                          "invoice_amount_mismatch", "partner_document_missing", "amount_mismatch"}, found
    assert {k: m["document_id"] for k, m in found.items()} == {
        "partner_document_rejected": planted_id, "partner_document_unacknowledged": planted_id,
        "partner_document_unsent": planted_id, "invoice_amount_mismatch": clean_id,
        "partner_document_missing": unconfirmed_id, "amount_mismatch": clean_id}
    assert found["partner_document_missing"]["subject"] == f"order_acknowledgment:{unconfirmed_so}"
    with db.reader() as s:
        cases = {c.type: c.details for c in s.scalars(select(Case).where(Case.type.like("reconcile.%")))}
    assert len(cases) == 6
    assert cases["reconcile.invoice_amount_mismatch"]["amounts"] == {
        "erp_net": "45.00", "invoice_lines": "48.00", "invoice_stated": "45.00"}
    assert cases["reconcile.amount_mismatch"]["amounts"] == {"TG12": ["15.00", "16.00"]}
    assert cases["reconcile.partner_document_unsent"]["outbound_id"] is not None
    db.dispose()
