"""A seller's answers to an order, built from the order and reference data until an ERP feeds them.

``confirm`` accepts each line up to the stock reference data knows (``hub.edi.stock``): a
line with enough is accepted, one with too little is confirmed as far as stock goes and
the rest is backordered (status backordered) or cancelled (changed; rejected when none is
left), as the profile's ``stock_shortfall`` says. A line whose item has no stock data is
confirmed as ordered. A change (revision > 0) is answered the same way, line by line
(an 865 in X12, an ORDRSP naming the change in EDIFACT: only the rendering differs),
except the lines it deletes: they are left out. The canonical line verdicts (accepted,
changed, backordered, rejected) have no "deleted as asked" (X12 ACK01 ID, EDIFACT LIN
1229 2), and rejected (IR / 7) would refuse the deletion; a change that only deletes is
accepted as a whole. ``ship`` ships what was confirmed in one pack and ``invoice`` bills
that at the ordered price; lines confirmed at nothing appear in neither. Document numbers
derive from the PO number, so answering the same order twice yields the same documents.

Usage:
    ack = confirm(po, on=date.today(), seller_id="CROSSDOCK", available=stock.take)
    asn = ship(po, ack, on=...); inv = invoice(po, ack, on=...)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Literal

from canonical.common import Party
from canonical.documents import (
    AckLine,
    AckLineStatus,
    AckStatus,
    Invoice,
    InvoiceLine,
    InvoiceTotals,
    OrderAcknowledgment,
    OrderLine,
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


Available = Callable[[OrderLine, Decimal, str], Decimal | None]
"""(line, quantity, uom) -> how much of it stock allows, or None when stock is not known."""


def _ack_line(ln: OrderLine, *, on: date, available: Available | None,
              shortfall: Literal["backorder", "reject"]) -> AckLine:
    can = available(ln, ln.quantity, ln.uom) if available is not None else None
    quantity = ln.quantity if can is None else min(can, ln.quantity)
    if quantity >= ln.quantity:
        status = AckLineStatus.ACCEPTED
    elif shortfall == "backorder":
        status = AckLineStatus.BACKORDERED
    else:
        status = AckLineStatus.CHANGED if quantity > 0 else AckLineStatus.REJECTED
    return AckLine(line_number=ln.line_number, status=status, ordered_quantity=ln.quantity, quantity=quantity,
                   uom=ln.uom, unit_price=ln.unit_price, scheduled_date=on if quantity > 0 else None,
                   **_items(ln))


def confirm(po: PurchaseOrder, *, on: date, seller_id: str, available: Available | None = None,
            shortfall: Literal["backorder", "reject"] = "backorder") -> OrderAcknowledgment:
    lines = [_ack_line(ln, on=on, available=available, shortfall=shortfall) for ln in po.lines
             if ln.change != "delete"]
    statuses = {ln.status for ln in lines}
    status = (AckStatus.ACCEPTED if statuses <= {AckLineStatus.ACCEPTED} else
              AckStatus.REJECTED if statuses == {AckLineStatus.REJECTED} else AckStatus.ACCEPTED_WITH_CHANGES)
    return OrderAcknowledgment(po_number=po.po_number, po_date=po.order_date, ack_number=f"SO-{po.po_number}",
                               ack_date=on, status=status, revision=po.revision, currency=po.currency,
                               buyer=po.buyer, seller=_seller(po, seller_id), lines=lines,
                               change_number=po.change_number)


def _confirmed(po: PurchaseOrder, ack: OrderAcknowledgment | None) -> list[tuple[OrderLine, Decimal]]:
    """Each order line with the quantity to ship and bill: all of it without an ack."""
    if ack is None:
        return [(ln, ln.quantity) for ln in po.lines]
    said = {a.line_number: a.quantity for a in ack.lines}
    return [(ln, said.get(ln.line_number, ln.quantity)) for ln in po.lines
            if said.get(ln.line_number, ln.quantity) > 0]


def ship(po: PurchaseOrder, ack: OrderAcknowledgment | None = None, *, on: date, seller_id: str) -> ShipNotice:
    items = [ShippedItem(line_number=ln.line_number, description=ln.description, quantity=qty,
                         uom=ln.uom, **_items(ln)) for ln, qty in _confirmed(po, ack)]
    return ShipNotice(shipment_id=f"SHP-{po.po_number}", ship_date=on, carrier_scac="UPSN",
                      carrier_name="UPS Ground", tracking_number=f"1Z{po.po_number}"[:35],
                      seller=_seller(po, seller_id), buyer=po.buyer, ship_to=po.ship_to or po.buyer,
                      orders=[ShipNoticeOrder(po_number=po.po_number, packs=[Pack(items=items)])])


def invoice(po: PurchaseOrder, ack: OrderAcknowledgment | None = None, *, on: date, seller_id: str) -> Invoice:
    lines = [InvoiceLine(line_number=ln.line_number, po_line_number=ln.line_number, description=ln.description,
                         quantity=qty, uom=ln.uom, unit_price=ln.unit_price or Decimal(0), **_items(ln))
             for ln, qty in _confirmed(po, ack)]
    total = sum((ln.billed_amount() for ln in lines), Decimal(0))
    return Invoice(invoice_number=f"INV-{po.po_number}", invoice_date=on, po_number=po.po_number,
                   shipment_id=f"SHP-{po.po_number}", currency=po.currency, seller=_seller(po, seller_id),
                   buyer=po.buyer, ship_to=po.ship_to, lines=lines,
                   totals=InvoiceTotals(lines_amount=total, total_amount=total))


def answers_for(po: PurchaseOrder, sets: list[str], *, on: date, seller_id: str, available: Available | None = None,
                shortfall: Literal["backorder", "reject"] = "backorder",
                ) -> list[OrderAcknowledgment | ShipNotice | Invoice]:
    """The documents ``sets`` ("855", "856", "810") name, in that business order. Shipping
    and billing follow the confirmation, so nothing ships when no line could be confirmed."""
    ack = confirm(po, on=on, seller_id=seller_id, available=available, shortfall=shortfall)
    out: list[OrderAcknowledgment | ShipNotice | Invoice] = []
    if "855" in sets:
        out.append(ack)
    if not any(ln.quantity > 0 for ln in ack.lines):
        return out
    if "856" in sets:
        out.append(ship(po, ack, on=on, seller_id=seller_id))
    if "810" in sets:
        out.append(invoice(po, ack, on=on, seller_id=seller_id))
    return out
