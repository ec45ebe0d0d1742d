"""Detectors for an incoming order acknowledgment (a supplier's 855/ORDRSP to our order)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canonical.documents import AckStatus
from pipelines.exceptions.detectors.common import money, order_line, percent_difference
from pipelines.exceptions.model import Detection, describe, detection

if TYPE_CHECKING:
    from canonical.documents import AckLine, OrderAcknowledgment
    from pipelines.exceptions.model import DetectionContext

__all__ = ["detect_ack_changed", "detect_ack_price", "detect_ack_unknown_order"]

_COMPARED = ("status", "quantity", "uom", "unit_price", "scheduled_date")


def detect_ack_unknown_order(ack: OrderAcknowledgment, ctx: DetectionContext) -> list[Detection]:
    if ctx.history.purchase_order(ack.po_number, buyer_id=ack.buyer.id) is not None:
        return []
    return [detection("unknown_purchase_order", describe(ack), path="po_number", partner=ack.seller.id,
                      message=f"acknowledges PO {ack.po_number}, which Crossdock does not hold",
                      evidence={"po_number": ack.po_number})]


def detect_ack_price(ack: OrderAcknowledgment, ctx: DetectionContext) -> list[Detection]:
    """A confirmed price that differs from the price on our order line."""
    po = ctx.history.purchase_order(ack.po_number, buyer_id=ack.buyer.id)
    if po is None:
        return []
    doc, out = describe(ack), []
    for i, line in enumerate(ack.lines):
        ordered = order_line(po, line.line_number)
        if ordered is None or ordered.unit_price is None or line.unit_price is None:
            continue
        if line.uom != ordered.uom or line.unit_price == ordered.unit_price:
            continue
        diff = percent_difference(line.unit_price, ordered.unit_price)
        out.append(detection(
            "price_discrepancy", doc, path=f"lines[{i}].unit_price", partner=ack.seller.id,
            message=f"line {line.line_number} confirmed at {line.unit_price}, "
                    f"ordered at {ordered.unit_price} ({diff:+}%)",
            evidence={"line_number": line.line_number, "price": line.unit_price,
                      "ordered_price": ordered.unit_price, "difference_percent": diff,
                      "quantity": line.quantity},
            related=(describe(po),),
            amount_at_risk=money(abs(line.unit_price - ordered.unit_price) * line.quantity),
            currency=ack.currency))
    return out


def _line_view(line: AckLine) -> dict[str, Any]:
    return {f: getattr(line, f) for f in _COMPARED}


def detect_ack_changed(ack: OrderAcknowledgment, ctx: DetectionContext) -> list[Detection]:
    """A later 855 differs from the one Crossdock already accepted for the same order.

    Compared per line number: status, quantity, unit, unit price and scheduled date; a line
    that appears or disappears counts as a change.
    """
    earlier = ctx.history.confirmed_acknowledgment(ack.po_number, buyer_id=ack.buyer.id)
    if earlier is None or earlier.status is AckStatus.REJECTED:
        return []
    if (ack.revision, ack.ack_date) <= (earlier.revision, earlier.ack_date):
        return []  # an older or the same acknowledgment replayed: not a change after confirmation
    before = {ln.line_number: _line_view(ln) for ln in earlier.lines}
    after = {ln.line_number: _line_view(ln) for ln in ack.lines}
    changes: dict[str, Any] = {}
    for number in sorted(before.keys() | after.keys()):
        old, new = before.get(number), after.get(number)
        if old is None or new is None:
            changes[number] = {"line": "added" if old is None else "removed"}
            continue
        diff = {f: {"was": old[f], "now": new[f]} for f in _COMPARED if old[f] != new[f]}
        if diff:
            changes[number] = diff
    if ack.status != earlier.status:
        changes["status"] = {"was": earlier.status.value, "now": ack.status.value}
    if not changes:
        return []
    summary = "; ".join(
        f"line {n}: " + ", ".join(f"{f} {v['was']}→{v['now']}" if isinstance(v, dict) else f"{f} {v}"
                                  for f, v in c.items())
        if n != "status" else f"status {c['was']}→{c['now']}" for n, c in changes.items())
    return [detection(
        "ack_changed_after_confirmation", describe(ack), partner=ack.seller.id,
        message=f"differs from accepted acknowledgment rev {earlier.revision} of {earlier.ack_date}: {summary}",
        evidence={"changes": changes, "accepted_revision": earlier.revision,
                  "accepted_ack_date": earlier.ack_date},
        related=(describe(earlier),))]
