"""Supplier invoices over API_SUPPLIERINVOICE_PROCESS_SRV, looked up before they are posted.

S/4HANA's duplicate-invoice check is configuration and mock-sap has none, so the gateway
looks for the supplier's invoice number (``SupplierInvoiceIDByInvcgParty``) from the same
invoicing party first and returns the existing document instead of paying twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from canonical.documents import Invoice
from connectors.erp.sap_http import SapSession
from connectors.erp.sap_odata import quote, results

__all__ = ["SERVICE", "find_supplier_invoice", "post_supplier_invoice"]

SERVICE = "API_SUPPLIERINVOICE_PROCESS_SRV"


def _v2_date(day: date) -> str:
    return f"/Date({int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)})/"


def find_supplier_invoice(session: SapSession, *, supplier: str, invoice_number: str) -> str | None:
    flt = (f"InvoicingParty eq {quote(supplier)} and "
           f"SupplierInvoiceIDByInvcgParty eq {quote(invoice_number[:16])}")
    rows = results(session.get_json(SERVICE, "A_SupplierInvoice",
                                    {"$filter": flt, "$select": "SupplierInvoice"}))
    return str(rows[0]["SupplierInvoice"]) if rows else None


def post_supplier_invoice(session: SapSession, invoice: Invoice, *, supplier: str) -> str:
    """Post the invoice header (gross amount) unless it is already there; returns its number."""
    existing = find_supplier_invoice(session, supplier=supplier,
                                     invoice_number=invoice.invoice_number)
    if existing:
        return existing
    body = {
        "CompanyCode": session.config.company_code, "InvoicingParty": supplier,
        "SupplierInvoiceIDByInvcgParty": invoice.invoice_number[:16],
        "DocumentDate": _v2_date(invoice.invoice_date),
        "PostingDate": _v2_date(datetime.now(UTC).date()),
        "InvoiceGrossAmount": format(invoice.totals.total_amount, "f"),
        "DocumentCurrency": invoice.currency,
    }
    created = session.post_json(SERVICE, "A_SupplierInvoice", body)
    return str(created["SupplierInvoice"])
