"""Detectors for an incoming invoice (a supplier's 810/INVOIC): totals, three-way match, duplicates.

Three-way match: each invoice line is matched to its order line (``po_line_number``, else
``line_number``, else item identifiers); its quantity is compared with what the referenced
ship notice shipped on that line (with what was ordered when the invoice names no
shipment), and its price with the order's price, both in the order's unit.

Duplicate invoices, defined precisely:

* **Same number again**: an original (revision 0) arrives with an invoice number the same
  seller already sent (an identical document is "already seen" before detection runs).
* **Same bill, new number**: another invoice from the same seller, for the same PO and the
  same total and currency, dated within ``PartnerRules.duplicate_window_days``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from pipelines.exceptions.detectors.asn import match_line, quantity_in_order_uom, shipped_by_line
from pipelines.exceptions.detectors.common import money, order_line, percent_difference
from pipelines.exceptions.model import Detection, describe, detection

if TYPE_CHECKING:
    from canonical.documents import Invoice
    from pipelines.exceptions.model import DetectionContext

__all__ = ["detect_duplicate_invoice", "detect_invoice_match", "detect_invoice_totals"]


def detect_invoice_totals(inv: Invoice, ctx: DetectionContext) -> list[Detection]:
    """Totals recomputed from lines, taxes, allowances and charges against those stated."""
    doc, tol, out = describe(inv), ctx.partner.invoice_amount_tolerance, []
    lines_sum = sum((ln.billed_amount() for ln in inv.lines), Decimal(0))
    tax_sum = sum((t.amount for t in inv.taxes), Decimal(0))
    checks: list[tuple[str, Decimal | None, Decimal]] = [
        ("totals.total_amount", inv.totals.total_amount, inv.computed_total()),
        ("totals.lines_amount", inv.totals.lines_amount, lines_sum),
        ("totals.tax_amount", inv.totals.tax_amount, tax_sum),
    ]
    checks += [(f"lines[{i}].amount", ln.amount, ln.quantity * ln.unit_price) for i, ln in enumerate(inv.lines)]
    for path, stated, computed in checks:
        if stated is None or abs(stated - computed) <= tol:
            continue
        out.append(detection(
            "invoice_totals_mismatch", doc, path=path, partner=inv.seller.id,
            message=f"states {stated} {inv.currency}, computes to {computed}",
            evidence={"stated": stated, "computed": computed, "difference": stated - computed,
                      "tolerance": tol},
            amount_at_risk=money(abs(stated - computed)), currency=inv.currency))
    return out


def detect_invoice_match(inv: Invoice, ctx: DetectionContext) -> list[Detection]:
    """Quantity against the shipment (or order), summed per order line, and price against the
    order, per invoice line."""
    if inv.po_number is None:
        return []
    doc, partner = describe(inv), inv.seller.id
    po = ctx.history.purchase_order(inv.po_number, buyer_id=inv.buyer.id)
    if po is None:
        return [detection("unknown_purchase_order", doc, path="po_number", partner=partner,
                          message=f"bills PO {inv.po_number}, which Crossdock does not hold",
                          evidence={"po_number": inv.po_number})]
    asn = ctx.history.ship_notice(inv.shipment_id, seller_id=partner) if inv.shipment_id else None
    reference = shipped_by_line(asn, po, ctx, partner) if asn else None
    related = (describe(po),) + ((describe(asn),) if asn else ())
    billed: dict[str, tuple[int, Decimal, Decimal]] = {}  # PO line → (first index, quantity, value)
    prices: list[Detection] = []
    for i, ln in enumerate(inv.lines):
        line = order_line(po, ln.po_line_number) or match_line(ln, po, ctx, partner)[0]
        invoiced = quantity_in_order_uom(ln, line, ctx, partner) if line else None
        if line is None or invoiced is None:
            continue
        first, qty, value = billed.get(line.line_number, (i, Decimal(0), Decimal(0)))
        billed[line.line_number] = (first, qty + invoiced, value + ln.billed_amount())
        price = ln.unit_price * ln.quantity / invoiced  # per order unit
        if line.unit_price is not None and money(price) != money(line.unit_price):
            diff = percent_difference(price, line.unit_price)
            prices.append(detection(
                "invoice_price_mismatch", doc, path=f"lines[{i}].unit_price", partner=partner, related=related,
                message=f"bills {money(price)} per {line.uom} on PO line {line.line_number}, "
                        f"ordered at {line.unit_price} ({diff:+}%)",
                evidence={"po_line_number": line.line_number, "invoiced_price": money(price),
                          "ordered_price": line.unit_price, "difference_percent": diff, "quantity": invoiced},
                amount_at_risk=money(abs(price - line.unit_price) * invoiced), currency=inv.currency))
    quantities: list[Detection] = []
    basis = "shipped" if reference is not None else "ordered"
    for number, (first, invoiced, value) in billed.items():
        ordered = order_line(po, number)
        assert ordered is not None  # billed only holds lines of ``po``
        expected = reference.get(number, Decimal(0)) if reference is not None else ordered.quantity
        if invoiced == expected:
            continue
        per_unit = value / invoiced
        quantities.append(detection(
            "invoice_quantity_mismatch", doc, path=f"lines[{first}].quantity", partner=partner, related=related,
            message=f"bills {invoiced} {ordered.uom} on PO line {number}, {basis} {expected}",
            evidence={"po_line_number": number, "invoiced": invoiced, basis: expected, "basis": basis,
                      "uom": ordered.uom},
            amount_at_risk=money(max(invoiced - expected, Decimal(0)) * per_unit), currency=inv.currency))
    return quantities + prices


def detect_duplicate_invoice(inv: Invoice, ctx: DetectionContext) -> list[Detection]:
    """Either duplicate rule of the module docstring; the first that matches."""
    doc, partner = describe(inv), inv.seller.id
    total = inv.totals.total_amount
    held = ctx.history.invoice(inv.invoice_number, seller_id=partner)
    if held is not None and inv.revision == 0:
        return [detection(
            "duplicate_invoice", doc, path="invoice_number", partner=partner, related=(describe(held),),
            message=f"invoice number {inv.invoice_number} already received from {partner} "
                    f"(dated {held.invoice_date}, total {held.totals.total_amount})",
            evidence={"rule": "same_number", "held_total": held.totals.total_amount, "total": total},
            amount_at_risk=money(total), currency=inv.currency)]
    window = ctx.partner.duplicate_window_days
    for other in ctx.history.invoices_from(partner, since=inv.invoice_date - timedelta(days=window)):
        days = abs((inv.invoice_date - other.invoice_date).days)
        if (other.invoice_number != inv.invoice_number and other.po_number == inv.po_number
                and other.totals.total_amount == total and other.currency == inv.currency and days <= window):
            return [detection(
                "duplicate_invoice", doc, partner=partner, related=(describe(other),),
                message=f"same PO {inv.po_number} and total {total} {inv.currency} as invoice "
                        f"{other.invoice_number} ({days} day{'' if days == 1 else 's'} apart, window {window})",
                evidence={"rule": "same_bill_new_number", "other_invoice_number": other.invoice_number,
                          "days_apart": days, "window_days": window},
                amount_at_risk=money(total), currency=inv.currency)]
    return []

