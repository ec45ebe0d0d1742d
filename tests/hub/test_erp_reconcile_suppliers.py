"""Reconciling a supplier's 856s and 810s with their postings in the real mock-sap.

A clean run finds nothing; then a ship notice and an invoice that were never posted, and an
invoice posted for another amount, each open one case with the hub's document attached.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from canonical.documents import Invoice, ShipNotice
from hub.erp import ErpSupplierTarget, post_supplier_document
from hub.reconcile import Reconciler
from hub.storage.db import Database
from hub.storage.reconcile_tables import ReconcileRun
from hub.storage.tables import Case, Document, Partner
from tests.support.mock_sap import MockSap
from tests.support.services import sqlite_database

pytestmark = pytest.mark.mock_sap

PO, SUPPLIER = "4500000101", "1000015"  # seeded: item 00010 is 213 PC of TG14


def notice(shipment: str) -> dict[str, Any]:
    return ShipNotice.model_validate({
        "shipment_id": shipment, "ship_date": "2026-11-24", "seller": {"id": "SUPP"}, "buyer": {"id": "CROSSDOCK"},
        "orders": [{"po_number": PO, "packs": [{"items": [{"line_number": "10", "quantity": "200"}]}]}],
    }).model_dump(mode="json")


def invoice(number: str, price: str) -> dict[str, Any]:
    total = Decimal(price) * 200
    return Invoice.model_validate({
        "invoice_number": number, "invoice_date": "2026-11-25", "po_number": PO, "currency": "EUR",
        "seller": {"id": "SUPP"}, "buyer": {"id": "CROSSDOCK"},
        "lines": [{"line_number": "1", "po_line_number": "10", "quantity": "200", "unit_price": price}],
        "totals": {"lines_amount": str(total), "total_amount": str(total)},
    }).model_dump(mode="json")


def test_supplier_postings_clean_then_each_planted_difference_opens_a_case(tmp_path: Path, mock_sap: MockSap) -> None:
    db = Database(sqlite_database(tmp_path / "hub.db"))
    erp = {"connection": {"base_url": mock_sap.base_url, "auth": "none"}, "supplier": SUPPLIER,
           "send_purchase_orders": False}
    target = ErpSupplierTarget.model_validate(erp)
    with db.session() as s:
        s.add(Partner(id="SUPP", name="Supplier", role="supplier", profile={"destinations": [
            {"type": "sap_s4", "document_types": ["ship_notice", "invoice"], "erp": erp}]}))

    def accept(doc: dict[str, Any], *, post: dict[str, Any] | None = None) -> int:
        """The hub accepted the supplier's document; ``post`` is what reached the ERP for it."""
        if post is not None:
            post_supplier_document(target, post)
        model = ShipNotice.model_validate(doc) if doc["document_type"] == "ship_notice" else Invoice.model_validate(doc)
        with db.session() as s:
            row = Document(partner_id="SUPP", document_type=model.document_type, idempotency_key=model.idempotency_key,
                           business_key=model.business_key, canonical=doc, status="delivered")
            s.add(row)
            s.flush()
            return row.id

    def run() -> tuple[int, int, int]:
        run_id = Reconciler(db).run("supplier_postings", trigger="api")
        with db.reader() as s:
            found = s.get(ReconcileRun, run_id)
            assert found is not None and found.status == "finished", found and found.error
            return found.checked, found.matched, found.mismatched

    accept(notice("ASN-1"), post=notice("ASN-1"))
    accept(invoice("INV-1", "301.14"), post=invoice("INV-1", "301.14"))
    assert run() == (2, 2, 0)  # checked, matched, mismatched

    unreceived = accept(notice("ASN-2"))
    unbilled = accept(invoice("INV-2", "301.14"))
    overbilled = accept(invoice("INV-3", "310.00"), post=invoice("INV-3", "301.14"))
    assert run() == (5, 2, 3)
    with db.reader() as s:
        cases = {c.type: (c.document_id, c.details) for c in s.scalars(
            select(Case).where(Case.type.like("reconcile.supplier_%")))}
    assert {t: doc for t, (doc, _) in cases.items()} == {
        "reconcile.supplier_receipt_not_posted": unreceived, "reconcile.supplier_invoice_not_posted": unbilled,
        "reconcile.supplier_invoice_mismatch": overbilled}
    assert cases["reconcile.supplier_invoice_mismatch"][1]["amount"] == ["62000.00", "60228.00"]
    db.dispose()
