"""Supplier invoices over API_SUPPLIERINVOICE_PROCESS_SRV, looked up before they are posted.

S/4HANA's duplicate-invoice check is configuration and mock-sap has none, so the gateway
looks for the supplier's invoice number (``SupplierInvoiceIDByInvcgParty``) from the same
invoicing party first and returns the existing document instead of paying twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from canonical.documents import Invoice
from connectors.erp.models import PostedSupplierInvoice, SupplierInvoiceItem
from connectors.erp.sap_http import SapSession
from connectors.erp.sap_odata import odata_decimal, quote, read_all, results

__all__ = ["SERVICE", "find_supplier_invoice", "post_supplier_invoice", "read_supplier_invoices"]

SERVICE = "API_SUPPLIERINVOICE_PROCESS_SRV"


def _v2_date(day: date) -> str:
    return f"/Date({int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)})/"


def find_supplier_invoice(session: SapSession, *, supplier: str, invoice_number: str) -> str | None:
    flt = (f"InvoicingParty eq {quote(supplier)} and "
           f"SupplierInvoiceIDByInvcgParty eq {quote(invoice_number[:16])}")
    rows = results(session.get_json(SERVICE, "A_SupplierInvoice",
                                    {"$filter": flt, "$select": "SupplierInvoice"}))
    return str(rows[0]["SupplierInvoice"]) if rows else None


def post_supplier_invoice(session: SapSession, invoice: Invoice, *, supplier: str,
                          items: Sequence[SupplierInvoiceItem] = ()) -> str:
    """Post the invoice (gross amount; ``items`` against our PO) unless it is already there.

    Item amounts are sent only when they add up to the gross amount (the API carries no tax
    split, so S/4HANA requires that); otherwise the items name PO item and quantity only.
    """
    existing = find_supplier_invoice(session, supplier=supplier,
                                     invoice_number=invoice.invoice_number)
    if existing:
        return existing
    body: dict[str, Any] = {
        "CompanyCode": session.config.company_code, "InvoicingParty": supplier,
        "SupplierInvoiceIDByInvcgParty": invoice.invoice_number[:16],
        "DocumentDate": _v2_date(invoice.invoice_date),
        "PostingDate": _v2_date(datetime.now(UTC).date()),
        "InvoiceGrossAmount": format(invoice.totals.total_amount, "f"),
        "DocumentCurrency": invoice.currency,
    }
    if items:
        amounts = [i.amount for i in items]
        priced = all(a is not None for a in amounts) and \
            sum((a for a in amounts if a is not None), Decimal(0)) == invoice.totals.total_amount
        body["to_SuplrInvcItemPurOrdRef"] = [{
            "PurchaseOrder": i.purchase_order, "PurchaseOrderItem": i.purchase_order_item,
            "QuantityInPurchaseOrderUnit": format(i.quantity, "f"), "PurchaseOrderQuantityUnit": i.unit,
            **({"SupplierInvoiceItemAmount": format(i.amount, "f")} if priced and i.amount is not None else {}),
        } for i in items]
    created = session.post_json(SERVICE, "A_SupplierInvoice", body)
    return str(created["SupplierInvoice"])


def read_supplier_invoices(session: SapSession, *, supplier: str) -> list[PostedSupplierInvoice]:
    """The supplier's invoices in the ERP with the purchase order items they were posted against."""
    rows = read_all(session, SERVICE, "A_SupplierInvoice", {
        "$filter": f"InvoicingParty eq {quote(supplier)}", "$expand": "to_SuplrInvcItemPurOrdRef"})
    return [PostedSupplierInvoice(
        supplier_invoice=str(row["SupplierInvoice"]), supplier=str(row.get("InvoicingParty") or ""),
        reference=str(row.get("SupplierInvoiceIDByInvcgParty") or ""),
        gross_amount=odata_decimal(row.get("InvoiceGrossAmount")),
        currency=str(row.get("DocumentCurrency") or ""),
        items=[SupplierInvoiceItem(
            purchase_order=str(it.get("PurchaseOrder") or ""),
            purchase_order_item=str(it.get("PurchaseOrderItem") or ""),
            quantity=odata_decimal(it.get("QuantityInPurchaseOrderUnit")),
            unit=str(it.get("PurchaseOrderQuantityUnit") or ""),
            amount=odata_decimal(it.get("SupplierInvoiceItemAmount")),
        ) for it in results(row.get("to_SuplrInvcItemPurOrdRef"))
            if odata_decimal(it.get("QuantityInPurchaseOrderUnit")) > 0])
        for row in rows]
