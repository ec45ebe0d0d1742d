"""Detectors for an incoming ship notice (a supplier's 856/DESADV against our order).

Each shipped item is matched to an order line by line number, else by item identifiers.
Quantities are compared per order line in the order's unit, cumulated over the earlier
ship notices for the same order (so a second partial shipment is not "over"). Shorts are
flagged only for partners that ship complete (``PartnerRules.ship_complete``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from pipelines.exceptions.detectors.common import find_item, money, order_line, same_item, to_uom
from pipelines.exceptions.model import Detection, describe, detection

if TYPE_CHECKING:
    from canonical.documents import (
        InvoiceLine,
        OrderLine,
        PurchaseOrder,
        ShipNotice,
        ShipNoticeOrder,
        ShippedItem,
    )
    from pipelines.exceptions.model import DetectionContext

__all__ = ["detect_asn_variance", "match_line", "quantity_in_order_uom", "shipped_by_line"]


def match_line(item: ShippedItem | InvoiceLine, po: PurchaseOrder, ctx: DetectionContext, partner: str) -> tuple[OrderLine | None, bool]:
    """(order line, substituted?) for one shipped item."""
    line = order_line(po, item.line_number)
    if line is not None:
        return line, same_item(item, line, refdata=ctx.refdata, partner_id=partner) is False
    for candidate in po.lines:
        if same_item(item, candidate, refdata=ctx.refdata, partner_id=partner):
            return candidate, False
    return None, False


def quantity_in_order_uom(item: ShippedItem | InvoiceLine, line: OrderLine, ctx: DetectionContext, partner: str) -> Decimal | None:
    master = find_item(ctx.refdata, line, partner) or find_item(ctx.refdata, item, partner)
    return to_uom(item.quantity, item.uom, line.uom, master)


def shipped_by_line(asn: ShipNotice, po: PurchaseOrder, ctx: DetectionContext, partner: str) -> dict[str, Decimal]:
    """Order line number → quantity this notice ships against ``po``, in the order's units."""
    out: dict[str, Decimal] = {}
    for order in asn.orders:
        if order.po_number != po.po_number:
            continue
        for item in (it for pack in order.packs for it in pack.items):
            line, _ = match_line(item, po, ctx, partner)
            qty = quantity_in_order_uom(item, line, ctx, partner) if line else None
            if line and qty is not None:
                out[line.line_number] = out.get(line.line_number, Decimal(0)) + qty
    return out


def _line_label(number: str | None) -> str:
    return f"line {number}" if number else "no line number"


def _earlier_shipped(asn: ShipNotice, po: PurchaseOrder, ctx: DetectionContext, partner: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for other in ctx.history.ship_notices_for(po.po_number, buyer_id=po.buyer.id):
        if other.shipment_id == asn.shipment_id:
            continue  # an earlier revision of this same shipment
        for number, qty in shipped_by_line(other, po, ctx, partner).items():
            out[number] = out.get(number, Decimal(0)) + qty
    return out


def _check_order(asn: ShipNotice, o: int, order: ShipNoticeOrder, ctx: DetectionContext) -> list[Detection]:
    doc, partner = describe(asn), asn.seller.id
    buyer_id = asn.buyer.id if asn.buyer else None
    po = ctx.history.purchase_order(order.po_number, buyer_id=buyer_id)
    if po is None:
        return [detection("unknown_purchase_order", doc, path=f"orders[{o}].po_number", partner=partner,
                          message=f"ships against PO {order.po_number}, which Crossdock does not hold",
                          evidence={"po_number": order.po_number})]
    out: list[Detection] = []
    related = (describe(po),)
    if asn.ship_to and po.ship_to and asn.ship_to.id != po.ship_to.id:
        out.append(detection("asn_wrong_ship_to", doc, path="ship_to.id", partner=partner, related=related,
                             message=f"ships to {asn.ship_to.id}, PO {po.po_number} ordered to {po.ship_to.id}",
                             evidence={"shipped_to": asn.ship_to.id, "ordered_to": po.ship_to.id},
                             amount_at_risk=money(po.total_amount()), currency=po.currency))
    shipped: dict[str, Decimal] = {}
    first_path: dict[str, str] = {}
    for p, pack in enumerate(order.packs):
        for k, item in enumerate(pack.items):
            path = f"orders[{o}].packs[{p}].items[{k}]"
            line, substituted = match_line(item, po, ctx, partner)
            if line is None:
                out.append(detection(
                    "asn_unknown_item", doc, path=path, partner=partner, related=related,
                    message=f"item {item.item_key()} ({_line_label(item.line_number)}) is not on PO {po.po_number}",
                    evidence={"item": item.item_key(), "line_number": item.line_number, "quantity": item.quantity}))
                continue
            if substituted:
                out.append(detection(
                    "asn_substituted_item", doc, path=path, partner=partner, related=related,
                    message=f"line {line.line_number} ships {item.item_key()}, ordered {line.item_key()}",
                    evidence={"line_number": line.line_number, "shipped_item": item.item_key(),
                              "ordered_item": line.item_key(), "quantity": item.quantity}))
            qty = quantity_in_order_uom(item, line, ctx, partner)
            if qty is not None:
                shipped[line.line_number] = shipped.get(line.line_number, Decimal(0)) + qty
                first_path.setdefault(line.line_number, f"{path}.quantity")
    earlier = _earlier_shipped(asn, po, ctx, partner)
    tolerance = 1 + ctx.partner.over_ship_tolerance_percent / 100
    for line in po.lines:
        now = shipped.get(line.line_number, Decimal(0))
        total = now + earlier.get(line.line_number, Decimal(0))
        evidence = {"line_number": line.line_number, "ordered": line.quantity, "uom": line.uom,
                    "shipped_now": now, "shipped_before": total - now, "shipped_total": total}
        price = line.unit_price or Decimal(0)
        path = first_path.get(line.line_number, f"orders[{o}]")
        if total > line.quantity * tolerance:
            out.append(detection(
                "asn_over_shipment", doc, path=path, partner=partner, related=related,
                message=f"PO {po.po_number} line {line.line_number}: shipped {total} {line.uom}, ordered {line.quantity}",
                evidence=evidence, amount_at_risk=money((total - line.quantity) * price), currency=po.currency))
        elif total < line.quantity and ctx.partner.ship_complete:
            out.append(detection(
                "asn_short_shipment", doc, path=path, partner=partner, related=related,
                message=f"PO {po.po_number} line {line.line_number}: shipped {total} {line.uom}, ordered {line.quantity}",
                evidence=evidence, amount_at_risk=money((line.quantity - total) * price), currency=po.currency))
    return out


def detect_asn_variance(asn: ShipNotice, ctx: DetectionContext) -> list[Detection]:
    """Short, over, substituted or unknown items and a wrong ship-to, per order on the notice."""
    return [d for o, order in enumerate(asn.orders) for d in _check_order(asn, o, order, ctx)]
