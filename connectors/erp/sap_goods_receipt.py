"""Goods receipts against our purchase orders over API_MATERIAL_DOCUMENT_SRV (movement 101).

The supplier's delivery note is the header's ``ReferenceDocument``: it is how a later
invoice finds the receipt, and how the gateway finds a receipt it already posted (S/4HANA
does not deduplicate goods movements, so posting one twice would book the stock twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from connectors.erp.models import GoodsReceiptLine
from connectors.erp.sap_http import SapSession
from connectors.erp.sap_odata import quote, results

__all__ = ["SERVICE", "find_goods_receipt", "post_goods_receipt"]

SERVICE = "API_MATERIAL_DOCUMENT_SRV"


def _v2_date(day: date) -> str:
    return f"/Date({int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)})/"


def find_goods_receipt(session: SapSession, *, delivery_note: str) -> str | None:
    rows = results(session.get_json(SERVICE, "A_MaterialDocumentHeader", {
        "$filter": f"ReferenceDocument eq {quote(delivery_note[:16])}",
        "$select": "MaterialDocument,MaterialDocumentYear"}))
    return str(rows[0]["MaterialDocument"]) if rows else None


def post_goods_receipt(session: SapSession, *, delivery_note: str, posting_date: date,
                       lines: Sequence[GoodsReceiptLine]) -> str:
    """Post the receipt unless one with this delivery note exists; returns the material document."""
    existing = find_goods_receipt(session, delivery_note=delivery_note)
    if existing:
        return existing
    body = {
        "ReferenceDocument": delivery_note[:16], "PostingDate": _v2_date(posting_date),
        "DocumentDate": _v2_date(posting_date),
        "to_MaterialDocumentItem": [{
            "PurchaseOrder": line.purchase_order, "PurchaseOrderItem": line.purchase_order_item,
            "Material": line.material, "Plant": line.plant, "GoodsMovementType": "101",
            "QuantityInEntryUnit": format(line.quantity, "f"), "EntryUnit": line.unit,
        } for line in lines],
    }
    created = session.post_json(SERVICE, "A_MaterialDocumentHeader", body)
    return str(created["MaterialDocument"])
