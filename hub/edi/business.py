"""Business differences in an EDI conversation: what a coordinator must look at.

A supplier's reply is compared with the purchase order Crossdock sent (and with the
replies already received for it); a customer's order with what Crossdock already holds.
Each difference is a note on the received set and opens a case for operations. Technical
problems never come here: those are dead letters.

| rule                        | when                                                         |
| confirmed-less / -more      | an 855/ORDRSP line confirms other than ordered (rejected too)|
| price-differs               | a confirmed or billed price is not the ordered one           |
| shipped-before-confirmed    | an 856/DESADV arrives before any 855/ORDRSP for the PO       |
| shipped-more-than-confirmed | shipped (all ASNs so far) beyond the latest confirmation     |
| shipped-more-than-ordered   | shipped beyond the order                                     |
| billed-before-shipped       | an 810/INVOIC arrives before any ASN for the PO              |
| invoice-repeated            | an invoice number already received for the PO               |
| duplicate-order             | a customer sends an order number again in a new interchange  |
| change-after-confirm        | a customer changes an order Crossdock already confirmed      |

Usage:
    notes = reply_differences(po, doc, earlier)   # [{"rule": ..., "line": ..., "message": ...}]
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from canonical.documents import (
    CanonicalDocument,
    Invoice,
    OrderAcknowledgment,
    PurchaseOrder,
    ShipNotice,
)

__all__ = ["reply_differences"]

Note = dict[str, Any]


def _note(rule: str, message: str, line: str | None = None) -> Note:
    return {"rule": rule, "line": line, "message": message}


def reply_differences(po: PurchaseOrder, doc: CanonicalDocument, earlier: list[CanonicalDocument]) -> list[Note]:
    """Differences between a supplier's reply ``doc`` and our ``po`` (``earlier``: replies before it)."""
    ordered = {ln.line_number: ln for ln in po.lines}
    acks = [d for d in earlier if isinstance(d, OrderAcknowledgment)]
    asns = [d for d in earlier if isinstance(d, ShipNotice)]
    invoices = [d for d in earlier if isinstance(d, Invoice)]
    notes: list[Note] = []
    if isinstance(doc, OrderAcknowledgment):
        for line in doc.lines:
            want = ordered.get(line.line_number)
            if want is None:
                notes.append(_note("confirmed-unknown-line", f"line {line.line_number} is not on the order",
                                   line.line_number))
                continue
            if line.quantity < want.quantity:
                notes.append(_note("confirmed-less", f"line {line.line_number}: {line.quantity} confirmed of "
                                   f"{want.quantity} ordered ({line.status.value})", line.line_number))
            elif line.quantity > want.quantity:
                notes.append(_note("confirmed-more", f"line {line.line_number}: {line.quantity} confirmed of "
                                   f"{want.quantity} ordered", line.line_number))
            if line.unit_price is not None and want.unit_price is not None and line.unit_price != want.unit_price:
                notes.append(_note("price-differs", f"line {line.line_number}: {line.unit_price} confirmed, "
                                   f"{want.unit_price} ordered", line.line_number))
    elif isinstance(doc, ShipNotice):
        if not acks:
            notes.append(_note("shipped-before-confirmed", f"ship notice {doc.shipment_id} arrived before any "
                               f"order response for {po.po_number}"))
        shipped: dict[str | None, Decimal] = {}
        for asn in [*asns, doc]:
            for (po_number, line_number), qty in asn.shipped_quantities().items():
                if po_number == po.po_number:
                    shipped[line_number] = shipped.get(line_number, Decimal(0)) + qty
        confirmed = {ln.line_number: ln.quantity for ln in acks[-1].lines} if acks else {}
        for number, qty in sorted(shipped.items(), key=lambda kv: str(kv[0])):
            asked = ordered.get(number or "")
            if number is not None and number in confirmed and qty > confirmed[number]:
                notes.append(_note("shipped-more-than-confirmed", f"line {number}: {qty} shipped, "
                                   f"{confirmed[number]} confirmed", number))
            if asked is not None and qty > asked.quantity:
                notes.append(_note("shipped-more-than-ordered", f"line {number}: {qty} shipped, {asked.quantity} "
                                   "ordered", number))
            elif asked is not None and qty < asked.quantity:
                notes.append(_note("shipped-less-than-ordered", f"line {number}: {qty} shipped, {asked.quantity} "
                                   "ordered", number))
    elif isinstance(doc, Invoice):
        if any(i.invoice_number == doc.invoice_number for i in invoices):
            notes.append(_note("invoice-repeated", f"invoice {doc.invoice_number} was already received for "
                               f"{po.po_number}"))
        if not asns:
            notes.append(_note("billed-before-shipped", f"invoice {doc.invoice_number} arrived before any "
                               f"ship notice for {po.po_number}"))
        for billed in doc.lines:
            asked = ordered.get(billed.po_line_number or billed.line_number)
            if asked is not None and asked.unit_price is not None and billed.unit_price != asked.unit_price:
                notes.append(_note("price-differs", f"line {billed.line_number}: billed {billed.unit_price}, "
                                   f"ordered {asked.unit_price}", billed.line_number))
    return notes
