"""Detectors for an incoming purchase order (a customer's 850/ORDERS to us).

Duplicate orders, defined precisely:

* **Same number, different content**: an original (revision 0, purpose new) arrives for a
  buyer + PO number Crossdock already holds, and its content fingerprint differs from the
  held one. (Same number and same content is "already seen", not a case; a change is a
  higher revision, not a duplicate.)
* **Same content, new number**: another order from the same buyer, under a different PO
  number, with an equal content fingerprint, dated within ``PartnerRules.duplicate_window_days``.

The fingerprint covers the ship-to and the lines as (item key, quantity, unit, unit price),
sorted; it ignores PO number, line numbers, dates and notes.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from canonical.documents import OrderPurpose
from pipelines.exceptions.detectors.common import (
    contract_price,
    find_item,
    margin_per_unit,
    money,
    percent_difference,
    to_uom,
)
from pipelines.exceptions.model import Detection, describe, detection
from pipelines.exceptions.taxonomy import Severity

if TYPE_CHECKING:
    from canonical.documents import PurchaseOrder
    from pipelines.exceptions.model import DetectionContext

__all__ = [
    "detect_credit_hold",
    "detect_duplicate_order",
    "detect_inventory",
    "detect_order_price",
    "order_fingerprint",
]


def _serving_warehouse(po: PurchaseOrder, ctx: DetectionContext) -> str | None:
    customer = ctx.refdata.customer(po.buyer.id)
    location = customer.ship_to(po.ship_to.id) if customer and po.ship_to else None
    return location.warehouse if location else None


def detect_inventory(po: PurchaseOrder, ctx: DetectionContext) -> list[Detection]:
    """Negative available stock, and lines that want more than is available.

    Lines for the same item draw on the same stock, in line order, serving warehouse first.
    When the ship-to's serving warehouse is short but others cover the line, the shortage is
    medium with ``split_ship_from_alternate_warehouse`` recommended and nothing at risk;
    when all warehouses together are short, it is the taxonomy's default severity, with the
    shortfall's value at risk and ``backorder_remaining`` recommended.
    """
    doc, out = describe(po), []
    serving = _serving_warehouse(po, ctx)
    drawn: dict[str, Decimal] = {}
    for i, line in enumerate(po.lines):
        item = find_item(ctx.refdata, line, po.buyer.id)
        if item is None:
            continue  # an unknown item is a validation finding, not a shortage
        levels = ctx.refdata.stock(item.item_number)
        for level in levels if item.item_number not in drawn else ():
            if level.available_quantity < 0:
                out.append(detection(
                    "negative_available_stock", doc, path=f"lines[{i}]", partner=po.buyer.id,
                    message=f"item {item.item_number} has {level.available_quantity} {item.base_uom} "
                            f"available in warehouse {level.warehouse}",
                    evidence={"item_number": item.item_number, "warehouse": level.warehouse,
                              "on_hand": level.on_hand, "allocated": level.allocated,
                              "available": level.available_quantity}))
        wanted = to_uom(line.quantity, line.uom, item.base_uom, item)
        if wanted is None:
            continue
        by_wh = {lv.warehouse: max(lv.available_quantity, Decimal(0)) for lv in levels}
        earlier = drawn.get(item.item_number, Decimal(0))
        drawn[item.item_number] = earlier + wanted
        available = max(sum(by_wh.values(), Decimal(0)) - earlier, Decimal(0))
        local = max(by_wh.get(serving, Decimal(0)) - earlier, Decimal(0)) if serving else available
        if wanted <= local:
            continue
        split = wanted <= available
        shortfall = wanted - (local if split else available)
        factor = item.factor(line.uom) or Decimal(1)
        per_unit = (line.unit_price or Decimal(0)) / factor
        margin = margin_per_unit(item, line.uom, line.unit_price) if line.unit_price is not None else None
        where = f"in {serving}" if split else "in all warehouses"
        out.append(detection(
            "inventory_shortage", doc, path=f"lines[{i}].quantity", partner=po.buyer.id,
            severity=Severity.MEDIUM if split else None,
            message=f"item {item.item_number} ordered {wanted} {item.base_uom}, "
                    f"{local if split else available} available {where}; short {shortfall}",
            evidence={"item_number": item.item_number, "ordered": wanted, "available": available,
                      "serving_warehouse": serving, "available_in_serving_warehouse": local,
                      "shortfall": shortfall, "uom": item.base_uom, "available_by_warehouse": by_wh,
                      "drawn_by_earlier_lines": earlier,
                      "recommended_action": "split_ship_from_alternate_warehouse" if split
                      else "backorder_remaining",
                      "margin_at_risk": money(shortfall * max(margin, Decimal(0)) / factor)
                      if margin is not None and not split else Decimal("0.00")},
            amount_at_risk=Decimal("0.00") if split else money(shortfall * per_unit), currency=po.currency))
    return out


def detect_order_price(po: PurchaseOrder, ctx: DetectionContext) -> list[Detection]:
    """Any difference between a line's price and the customer's contract price.

    Within the contract tolerance the detection is low severity (policies usually
    auto-accept it); beyond it, the taxonomy's default.
    """
    customer = ctx.refdata.customer(po.buyer.id)
    if customer is None or customer.price_list_id is None:
        return []
    doc, out = describe(po), []
    for i, line in enumerate(po.lines):
        item = find_item(ctx.refdata, line, po.buyer.id)
        if item is None or line.unit_price is None:
            continue
        found = contract_price(ctx.refdata, customer.price_list_id, item, line.uom, po.order_date, po.currency)
        if found is None or found.price == line.unit_price:
            continue
        entry, agreed = found.entry, found.price
        diff = percent_difference(line.unit_price, agreed)
        within = abs(diff) <= entry.tolerance_percent
        margin = margin_per_unit(item, line.uom, line.unit_price)
        evidence: dict[str, object] = {
            "item_number": item.item_number, "price": line.unit_price, "contract_price": agreed,
            "difference_percent": diff, "tolerance_percent": entry.tolerance_percent,
            "within_tolerance": within, "price_list_id": entry.price_list_id, "quantity": line.quantity,
            "margin_at_risk": money(max(agreed - line.unit_price, Decimal(0)) * line.quantity)}
        if margin is not None and margin < 0:
            evidence["below_cost_by"] = money(-margin * line.quantity)
        out.append(detection(
            "price_discrepancy", doc, path=f"lines[{i}].unit_price", partner=po.buyer.id,
            severity=Severity.LOW if within else None,
            message=f"item {item.item_number} priced {line.unit_price} {po.currency}/{line.uom}, "
                    f"contract {agreed} ({diff:+}%, tolerance {entry.tolerance_percent}%)",
            evidence=evidence, amount_at_risk=money(abs(line.unit_price - agreed) * line.quantity),
            currency=po.currency))
    return out


def detect_credit_hold(po: PurchaseOrder, ctx: DetectionContext) -> list[Detection]:
    """Customer on hold, or the order would take its exposure over the credit limit."""
    customer = ctx.refdata.customer(po.buyer.id)
    if customer is None or po.purpose is OrderPurpose.CANCEL:
        return []
    total = po.total_amount()
    after = customer.exposure + total
    over_limit = customer.credit_limit is not None and after > customer.credit_limit
    if customer.credit_status == "ok" and not over_limit:
        return []
    reason = (f"customer {customer.id} credit status is {customer.credit_status}"
              if customer.credit_status != "ok" else
              f"exposure {after} {po.currency} would exceed credit limit {customer.credit_limit}")
    return [detection(
        "credit_hold", describe(po), message=reason, partner=po.buyer.id,
        severity=Severity.MEDIUM if customer.credit_status == "review" and not over_limit else None,
        evidence={"credit_status": customer.credit_status, "credit_limit": customer.credit_limit,
                  "exposure": customer.exposure, "order_total": total, "exposure_after": after},
        amount_at_risk=money(total), currency=po.currency)]


def order_fingerprint(po: PurchaseOrder) -> str:
    """sha256 of what makes two orders the same order (see the module docstring)."""
    lines = sorted(
        (ln.item_key() or "", str(ln.quantity.normalize()), ln.uom,
         str(ln.unit_price.normalize()) if ln.unit_price is not None else "")
        for ln in po.lines)
    text = "|".join([po.ship_to.id if po.ship_to else "", *("/".join(ln) for ln in lines)])
    return hashlib.sha256(text.encode()).hexdigest()


def detect_duplicate_order(po: PurchaseOrder, ctx: DetectionContext) -> list[Detection]:
    """Either duplicate rule of the module docstring; the first that matches."""
    if po.purpose is not OrderPurpose.NEW or po.revision != 0:
        return []
    doc, mine = describe(po), order_fingerprint(po)
    held = ctx.history.purchase_order(po.po_number, buyer_id=po.buyer.id)
    if held is not None and order_fingerprint(held) != mine:
        return [detection(
            "duplicate_order", doc, partner=po.buyer.id,
            message=f"PO number {po.po_number} already received from {po.buyer.id} "
                    f"with different content (held rev {held.revision}, dated {held.order_date})",
            evidence={"rule": "same_number_different_content", "held_revision": held.revision,
                      "held_total": held.total_amount(), "total": po.total_amount()},
            related=(describe(held),), amount_at_risk=money(po.total_amount()), currency=po.currency)]
    if ctx.partner.duplicate_window_days < 0:
        return []  # the partner has the same-content rule off
    since = po.order_date - timedelta(days=ctx.partner.duplicate_window_days)
    for other in ctx.history.orders_from_buyer(po.buyer.id, since=since, fingerprint=mine):
        days = abs((po.order_date - other.order_date).days)
        if other.po_number != po.po_number and days <= ctx.partner.duplicate_window_days \
                and order_fingerprint(other) == mine:
            return [detection(
                "duplicate_order", doc, partner=po.buyer.id,
                message=f"same content as PO {other.po_number} from {other.order_date} "
                        f"({days} day{'' if days == 1 else 's'} apart, window {ctx.partner.duplicate_window_days})",
                evidence={"rule": "same_content_new_number", "other_po_number": other.po_number,
                          "days_apart": days, "window_days": ctx.partner.duplicate_window_days},
                related=(describe(other),), amount_at_risk=money(po.total_amount()),
                currency=po.currency)]
    return []
