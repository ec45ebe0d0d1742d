"""A seller's answers to an order, built from the order itself until an ERP feeds them.

``confirm`` accepts every line in full, ``ship`` ships every line in one pack, ``invoice``
bills what shipped at the ordered price. Document numbers derive from the PO number, so
answering the same order twice yields the same documents (and the same idempotency keys).

Usage:
    ack = confirm(po, on=date.today()); asn = ship(po, on=...); inv = invoice(po, on=...)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from canonical.common import Party
from canonical.documents import (
    AckLine,
    AckLineStatus,
    AckStatus,
    Invoice,
    InvoiceLine,
    InvoiceTotals,
    OrderAcknowledgment,
    Pack,
    PurchaseOrder,
    ShipNotice,
    ShipNoticeOrder,
    ShippedItem,
)

__all__ = ["answers_for", "confirm", "invoice", "ship"]


def _seller(po: PurchaseOrder, seller_id: str) -> Party:
    return po.seller or Party(id=seller_id)


def _items(line: object) -> dict[str, str | None]:
    return {k: getattr(line, k) for k in ("buyer_item", "vendor_item", "gtin")}


def confirm(po: PurchaseOrder, *, on: date, seller_id: str) -> OrderAcknowledgment:
    lines = [AckLine(line_number=ln.line_number, status=AckLineStatus.ACCEPTED, ordered_quantity=ln.quantity,
                     quantity=ln.quantity, uom=ln.uom, unit_price=ln.unit_price, scheduled_date=on,
                     **_items(ln))
             for ln in po.lines]
    return OrderAcknowledgment(po_number=po.po_number, po_date=po.order_date, ack_number=f"SO-{po.po_number}",
                               ack_date=on, status=AckStatus.ACCEPTED, currency=po.currency, buyer=po.buyer,
                               seller=_seller(po, seller_id), lines=lines)


def ship(po: PurchaseOrder, *, on: date, seller_id: str) -> ShipNotice:
    items = [ShippedItem(line_number=ln.line_number, description=ln.description, quantity=ln.quantity,
                         uom=ln.uom, **_items(ln)) for ln in po.lines]
    return ShipNotice(shipment_id=f"SHP-{po.po_number}", ship_date=on, carrier_scac="UPSN",
                      carrier_name="UPS Ground", tracking_number=f"1Z{po.po_number}"[:35],
                      seller=_seller(po, seller_id), buyer=po.buyer, ship_to=po.ship_to or po.buyer,
                      orders=[ShipNoticeOrder(po_number=po.po_number, packs=[Pack(items=items)])])


def invoice(po: PurchaseOrder, *, on: date, seller_id: str) -> Invoice:
    lines = [InvoiceLine(line_number=ln.line_number, po_line_number=ln.line_number, description=ln.description,
                         quantity=ln.quantity, uom=ln.uom, unit_price=ln.unit_price or Decimal(0), **_items(ln))
             for ln in po.lines]
    total = sum((ln.billed_amount() for ln in lines), Decimal(0))
    return Invoice(invoice_number=f"INV-{po.po_number}", invoice_date=on, po_number=po.po_number,
                   shipment_id=f"SHP-{po.po_number}", currency=po.currency, seller=_seller(po, seller_id),
                   buyer=po.buyer, ship_to=po.ship_to, lines=lines,
                   totals=InvoiceTotals(lines_amount=total, total_amount=total))


def answers_for(po: PurchaseOrder, sets: list[str], *, on: date, seller_id: str
                ) -> list[OrderAcknowledgment | ShipNotice | Invoice]:
    """The documents ``sets`` ("855", "856", "810") name, in that business order."""
    out: list[OrderAcknowledgment | ShipNotice | Invoice] = []
    if "855" in sets:
        out.append(confirm(po, on=on, seller_id=seller_id))
    if "856" in sets:
        out.append(ship(po, on=on, seller_id=seller_id))
    if "810" in sets:
        out.append(invoice(po, on=on, seller_id=seller_id))
    return out
