"""What the partner-documents job compares: the ERP documents a customer should have had as
EDI, and the EDI the hub queued for its orders.

The ERP side: for each customer with an EDI profile, its sales orders the hub wrote (a
confirmation while an item is open), and the deliveries and billing documents made from
them (read through the gateway). The hub side: the 855/856/810 (ORDRSP/DESADV/INVOIC) in
its EDI outbox for those orders, each with the ERP number it was made from, its send and
acknowledgment state, and for an invoice its amounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canonical.documents import Invoice
from connectors.erp import BillingDocument, Delivery, SapS4Gateway
from hub.partners import partner_dict
from hub.reconcile.gather import ErpScope
from hub.storage.edi_tables import EdiOutbound
from hub.storage.tables import Document
from pipelines.reconcile import ErpPartnerDocument, HubOrder, SentEdi, lines_amount

__all__ = ["edi_customers", "erp_partner_documents", "sent_edi"]

SET_OF = {"order_acknowledgment": "855", "ship_notice": "856", "invoice": "810"}  # as auto_respond names them


def edi_customers(s: Session, scope: ErpScope) -> dict[str, list[str]]:
    """The scope's customers that trade by EDI, with the sets their profile answers by itself."""
    out: dict[str, list[str]] = {}
    for partner_id in scope.targets:
        partner = partner_dict(s, partner_id)
        if partner is not None and partner.get("edi"):
            out[partner_id] = list(partner["edi"].get("auto_respond") or [])
    return out


def erp_partner_documents(gateway: SapS4Gateway, orders: Iterable[HubOrder], customers: dict[str, list[str]], *,
                          deliveries: Sequence[Delivery] | None = None,
                          billing_documents: Sequence[BillingDocument] | None = None) -> list[ErpPartnerDocument]:
    """Every confirmation, delivery and billing document of these orders that should be EDI.

    ``deliveries`` and ``billing_documents`` are the ones the run read for its window (None:
    every one the ERP has, read here); confirmations are read for ``orders`` by number.
    """
    ours = {o.erp_number: o for o in orders if o.erp_number and o.partner_id in customers}
    if not ours:
        return []
    if deliveries is None:
        deliveries = gateway.read_deliveries(since=None).records
    if billing_documents is None:
        billing_documents = gateway.read_billing_documents(since=None).records

    def doc(kind: str, number: str, order: HubOrder, amount: Decimal | None = None) -> ErpPartnerDocument:
        return ErpPartnerDocument(kind, number, order.partner_id, order.customer_po, order.business_key,
                                  order.document_id, amount, by_order=SET_OF[kind] in customers[order.partner_id])

    out = [doc("order_acknowledgment", so.sales_order, ours[so.sales_order])
           for so in gateway.read_sales_orders(sorted(ours)) if any(i.is_open for i in so.items)]
    for delivery in deliveries:
        out += [doc("ship_notice", delivery.delivery, ours[n])
                for n in sorted({i.sales_order for i in delivery.items} & ours.keys())]
    for billing in billing_documents:
        out += [doc("invoice", billing.billing_document, ours[n], billing.net_amount)
                for n in sorted({i.sales_order for i in billing.items} & ours.keys())]
    return out


def _amounts(canonical: dict[str, Any] | None) -> tuple[Decimal | None, Decimal | None]:
    if not canonical:
        return None, None
    invoice = Invoice.model_validate(canonical)
    return lines_amount((ln.quantity, ln.unit_price) for ln in invoice.lines), invoice.totals.lines_amount


def sent_edi(s: Session, expected: Iterable[ErpPartnerDocument]) -> list[SentEdi]:
    """The 855/856/810 the hub queued for the orders these ERP documents belong to."""
    wanted = {(d.partner_id, d.customer_po) for d in expected}
    if not wanted:
        return []
    rows = s.execute(
        select(EdiOutbound, Document.erp_document_number)
        .outerjoin(Document, Document.id == EdiOutbound.document_id)
        .where(EdiOutbound.partner_id.in_(sorted({p for p, _ in wanted})),
               EdiOutbound.po_number.in_(sorted({po for _, po in wanted})),
               EdiOutbound.document_type.in_(sorted(SET_OF))))
    out = []
    for row, erp_number in rows:
        if (row.partner_id, row.po_number) not in wanted:
            continue
        lines, stated = _amounts(row.canonical) if row.document_type == "invoice" else (None, None)
        out.append(SentEdi(row.id, row.document_id, row.partner_id, str(row.document_type), row.set_id,
                           row.po_number, erp_number, row.status, row.ack_status, row.created_at, row.ack_due_at,
                           lines, stated))
    return out
