"""A customer's order change or cancel, applied to the sales order the original created.

A change (X12 860, EDIFACT ORDCHG) names the lines it changes, adds or deletes (the line's
``change``: POC02 DI / LIN 1229 2 deletes); lines it does not name stay as they are.
:func:`current_order` folds the revisions the hub holds into the order as it now stands (a
deleted line leaves it, a cancel leaves no lines), for whoever reads the order later.

Writing a change is planned from the sales order as the ERP holds it now, never replayed
blindly: :func:`plan_change` compares the change's lines with the order's open items and
keeps only what differs (a quantity or value to update, a line to insert, the open item of
a deleted line to cancel, every open item to cancel for a cancel). A change delivered twice
therefore finds nothing left to do the second time, and one that timed out is read again
before anything is resent (the gateway holds a change in doubt off until the late write
can have landed). After writing, the order is read once more: a change the ERP took but
did not apply (an item it would not touch) is a case, as is one it refused.

An order line is the sales order item with its material and, when the line carries the
buyer's item number, that number as the customer's material (both set by the create).

Usage:
    number = apply_order_change(gateway, change, sold_to="1000001", materials={"1": "TG11"})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from canonical.documents import OrderLine, OrderPurpose, PurchaseOrder
from canonical.errors import BusinessException, RetryableError
from connectors.erp import ErpGateway, SalesOrder, SalesOrderItem, SalesOrderItemChange

__all__ = ["apply_order_change", "current_order", "plan_change"]

_WAIT_FOR_ORIGINAL_SECONDS = 30.0


def current_order(revisions: Iterable[PurchaseOrder]) -> PurchaseOrder | None:
    """The order as it stands after every revision held (oldest first by revision number).

    A change replaces the lines it names by line number, adds the new ones (in the order
    they come, after the lines already there) and drops the ones it deletes; a cancel
    leaves no lines, and so does a change that deletes every line (the result reads as a
    cancel). Header fields come from the latest revision, except what it leaves empty.
    The lines carry no ``change``: they are the order as it stands, not a revision's verbs.
    """
    ordered = sorted(revisions, key=lambda po: po.revision)
    if not ordered:
        return None
    lines: dict[str, OrderLine] = {}
    header: dict[str, Any] = {}
    for po in ordered:
        if po.purpose is OrderPurpose.CANCEL:
            lines = {}
        elif po.purpose is OrderPurpose.NEW:
            lines = {ln.line_number: ln for ln in po.lines}
        else:
            for ln in po.lines:
                if ln.change == "delete":
                    lines.pop(ln.line_number, None)
                else:
                    lines[ln.line_number] = ln
        header.update({k: v for k, v in po.model_dump(mode="json", exclude={"lines", "idempotency_key"}).items()
                       if v not in (None, [])})
    if not lines:
        header["purpose"] = OrderPurpose.CANCEL.value
    return PurchaseOrder.model_validate({**header, "lines": [ln.model_dump(mode="json", exclude={"change"})
                                                             for ln in lines.values()]})


def _match(line: OrderLine, material: str, items: list[SalesOrderItem]) -> list[SalesOrderItem]:
    """The open items that are this line: same material, and the buyer's item number when kept."""
    same = [i for i in items if i.material == material]
    exact = [i for i in same if i.material_by_customer == (line.buyer_item or "")[:35]]
    return exact or [i for i in same if not i.material_by_customer]


def _next_item(so: SalesOrder, taken: Iterable[str]) -> str:
    numbers = [int(i.item) for i in so.items if i.item.isdigit()] + [int(t) for t in taken if t.isdigit()]
    return str((max(numbers, default=0) // 10 + 1) * 10).zfill(6)


def plan_change(po: PurchaseOrder, so: SalesOrder, materials: Mapping[str, str]) -> list[SalesOrderItemChange]:
    """What must change in ``so`` for it to say what ``po`` (a change or a cancel) says; [] if nothing."""
    open_items = [i for i in so.items if i.is_open]
    if po.purpose is OrderPurpose.CANCEL:
        return [SalesOrderItemChange(action="cancel", item=i.item, material=i.material) for i in open_items]
    unmapped = [ln.line_number for ln in po.lines if not materials.get(ln.line_number)]
    if unmapped:
        raise BusinessException(f"PO {po.po_number} change: no material for line(s) {', '.join(unmapped)}",
                                code="erp.rejected.unmapped_item", severity="high",
                                details={"customer_po": po.po_number, "sales_order": so.sales_order,
                                         "lines": unmapped})
    plan: list[SalesOrderItemChange] = []
    claimed: set[str] = set()
    # Deleted lines last: an added or changed line of the same material takes the open item
    # first, so a change delivered again never cancels the item its first delivery inserted.
    for line in sorted(po.lines, key=lambda ln: ln.change == "delete"):
        material = materials[line.line_number]
        amount = (line.unit_price * line.quantity) if line.unit_price is not None else None
        found = [i for i in _match(line, material, open_items) if i.item not in claimed]
        if len(found) > 1:
            raise BusinessException(
                f"PO {po.po_number} line {line.line_number}: sales order {so.sales_order} has "
                f"{len(found)} open items of material {material}; which one changes is for a person",
                code="erp.rejected.ambiguous_item", severity="medium",
                details={"customer_po": po.po_number, "sales_order": so.sales_order,
                         "line_number": line.line_number, "items": [i.item for i in found]})
        if line.change == "delete":
            if found:  # else nothing open: deleted already (delivered twice, a late write) or never there
                claimed.add(found[0].item)
                plan.append(SalesOrderItemChange(action="cancel", item=found[0].item, material=material))
            continue
        if not found:
            item = _next_item(so, claimed)
            claimed.add(item)
            plan.append(SalesOrderItemChange(
                action="insert", item=item, material=material, quantity=line.quantity, unit="PC" if line.uom == "EA"
                else line.uom, net_amount=amount, text=line.description or "",
                material_by_customer=line.buyer_item or ""))
            continue
        held = found[0]
        claimed.add(held.item)
        if held.requested_quantity != line.quantity or (amount is not None and held.net_amount != amount):
            plan.append(SalesOrderItemChange(action="update", item=held.item, material=material,
                                             quantity=line.quantity, net_amount=amount))
    return plan


def _describe(plan: list[SalesOrderItemChange]) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json", exclude_defaults=True) for c in plan]


def apply_order_change(gateway: ErpGateway, po: PurchaseOrder, *, sold_to: str,
                       materials: Mapping[str, str]) -> str | None:
    """Make the customer's sales order say what the change or cancel says; returns its number.

    None for a cancel of an order the ERP never had. A change of one it does not have yet
    waits (``RetryableError``): the original is written first, per business key.
    """
    evidence = {"customer_po": po.po_number, "sold_to": sold_to, "revision": po.revision}
    number = gateway.find_sales_order(customer_po=po.po_number, sold_to=sold_to)
    so = gateway.read_sales_order(number) if number else None
    if so is None:
        if po.purpose is OrderPurpose.CANCEL:
            return None
        raise RetryableError(f"PO {po.po_number} revision {po.revision}: no sales order to change yet",
                             code="erp.waiting_for_sales_order", retry_after=_WAIT_FOR_ORIGINAL_SECONDS,
                             details=evidence)
    plan = plan_change(po, so, materials)
    if not plan:
        return so.sales_order  # applied already (delivered twice, or a write that landed late)
    gateway.change_sales_order(so.sales_order, plan)
    after = gateway.read_sales_order(so.sales_order)
    left = plan_change(po, after, materials) if after is not None else plan
    if left:
        raise BusinessException(
            f"Sales order {so.sales_order} did not take the {po.purpose.value} of PO {po.po_number} "
            f"(revision {po.revision}): {len(left)} item change(s) not applied",
            code="erp.rejected.change_not_applied", severity="high",
            details={**evidence, "sales_order": so.sales_order, "sent": _describe(plan), "not_applied": _describe(left)})
    return so.sales_order

