"""``reconcile_partner_documents``: what the ERP confirmed, delivered and billed reached the customer.

Every sales order, delivery and billing document of the hub's customer orders should have
gone out as an 855, 856 and 810 (ORDRSP, DESADV, INVOIC) and been acknowledged by the
partner's 997/CONTRL in time. Each ERP document is paired with the EDI the hub queued for
it (by the ERP's number; by the order when the partner's profile answers that set by itself)
and reported when the EDI is missing, still unsent past the send window, unacknowledged past
its due time, or rejected. An 810's amounts must also agree with the billing document's net
amount, and with its own stated lines amount.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pipelines.reconcile.checks import CENT
from pipelines.reconcile.records import ErpPartnerDocument, Mismatch, Report, SentEdi

__all__ = ["reconcile_partner_documents"]

_WHAT = {"order_acknowledgment": "confirmation", "ship_notice": "delivery", "invoice": "billing document"}


def _pair(doc: ErpPartnerDocument, sent: list[SentEdi]) -> SentEdi | None:
    mine = [e for e in sent if e.partner_id == doc.partner_id and e.document_type == doc.document_type]
    found = [e for e in mine if e.erp_number == doc.number]
    if not found and doc.by_order:
        found = [e for e in mine if e.po_number == doc.customer_po]
    return max(found, key=lambda e: e.outbound_id, default=None)


def _amounts(doc: ErpPartnerDocument, edi: SentEdi) -> dict[str, str] | None:
    """The 810's amounts against the billing document's, when any of them differ by a cent."""
    if doc.document_type != "invoice" or doc.amount is None or edi.lines_amount is None:
        return None
    values = {"erp_net": doc.amount, "invoice_lines": edi.lines_amount,
              "invoice_stated": edi.stated_amount if edi.stated_amount is not None else edi.lines_amount}
    cents = {k: v.quantize(CENT) for k, v in values.items()}
    return None if len(set(cents.values())) == 1 else {k: format(v, "f") for k, v in cents.items()}


def reconcile_partner_documents(expected: Iterable[ErpPartnerDocument], sent: Iterable[SentEdi], *,
                                now: datetime, send_within: timedelta = timedelta(hours=1)) -> Report:
    """Pair every ERP document with its EDI and report what is missing, late, rejected or off.

    Usage:
        report = reconcile_partner_documents(erp_documents, sent_edi, now=utcnow())
    """
    report = Report("partner_documents")
    sent = list(sent)
    for doc in sorted(expected, key=lambda d: (d.document_type, d.number)):
        report.checked += 1
        edi = _pair(doc, sent)
        what = f"{_WHAT.get(doc.document_type, doc.document_type)} {doc.number} (order {doc.customer_po})"
        facts: dict[str, Any] = {"document_type": doc.document_type, "erp_document": doc.number,
                                 "customer_po": doc.customer_po, "business_key": doc.business_key}
        if edi is not None:
            facts |= {"outbound_id": edi.outbound_id, "edi_document_id": edi.document_id, "set_id": edi.set_id,
                      "status": edi.status, "ack_status": edi.ack_status,
                      "ack_due_at": edi.ack_due_at.isoformat() if edi.ack_due_at else None}
        kind, summary = None, ""
        if edi is None:
            kind, summary = "partner_document_missing", f"The ERP's {what} was never sent to {doc.partner_id}"
        elif edi.status != "sent" and (edi.status == "failed" or now - edi.created_at > send_within):
            kind, summary = "partner_document_unsent", \
                f"The {edi.set_id} for the ERP's {what} is still {edi.status}, not sent to {doc.partner_id}"
        elif edi.ack_status == "rejected":
            kind, summary = "partner_document_rejected", f"{doc.partner_id} rejected the {edi.set_id} for the ERP's {what}"
        elif edi.ack_status == "pending" and edi.ack_due_at is not None and edi.ack_due_at < now:
            kind, summary = "partner_document_unacknowledged", \
                f"{doc.partner_id} has not acknowledged the {edi.set_id} for the ERP's {what} (due {edi.ack_due_at:%Y-%m-%d %H:%M})"
        elif (amounts := _amounts(doc, edi)) is not None:
            kind, summary = "invoice_amount_mismatch", \
                f"The {edi.set_id} for the ERP's {what} bills {amounts['invoice_lines']} against a net amount of {amounts['erp_net']}"
            facts |= {"amounts": amounts}
        if kind is None:
            report.matched += 1
            continue
        report.mismatches.append(Mismatch(kind, f"{doc.document_type}:{doc.number}", summary,
                                          partner_id=doc.partner_id, document_id=doc.document_id, details=facts))
    return report


def lines_amount(lines: Iterable[tuple[Decimal, Decimal | None]]) -> Decimal | None:
    """Sum of quantity x price; None when a line has no price."""
    total = Decimal(0)
    for quantity, price in lines:
        if price is None:
            return None
        total += quantity * price
    return total
