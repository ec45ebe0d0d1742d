"""Documents from the ERP to customers: a sales order's confirmation becomes an 855/ORDRSP, a
delivery an 856/DESADV, a billing document an 810/INVOIC.

Delta-driven like the reference data: each run reads the deliveries and billing documents
that changed since the last token (stored in ``connector_state`` with what it queued, one
transaction). A delivery or billing document is ours when its items name a sales order the
hub wrote (``documents.erp_document_number``); the customer's order gives parties and line
numbers (sales order item 10, 20 ... is order line 1, 2 ..., the order the write-back used).
The document numbers are the ERP's, so a record read twice is queued once
(``hub.edi.outbound.queue_document`` sends a document key once). A set the partner's EDI
profile already answers by itself (``auto_respond``) is not sent again from the ERP.

Usage:
    queued = ErpDocumentFeed(db).run()      # {"order_acknowledgment": 1, "ship_notice": 1, "invoice": 0}
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

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
from connectors.erp import BillingDocument, Delivery, SalesOrder
from hub.edi.outbound import queue_document
from hub.erp.changes import current_order
from hub.erp.destination import gateway_for
from hub.partners import partner_dict
from hub.reconcile.gather import erp_scopes
from hub.storage.db import Database
from hub.storage.tables import ConnectorState, Document, utcnow

__all__ = ["ErpDocumentFeed", "acknowledgment_from", "invoice_from", "ship_notice_from"]


def _line(po: PurchaseOrder, sales_order_item: str) -> Any:
    index = int(sales_order_item or "0") // 10 - 1
    return po.lines[index] if 0 <= index < len(po.lines) else None


def _us(partner: dict[str, Any]) -> str:
    return str((partner.get("edi") or {}).get("our_interchange_id") or "CROSSDOCK")


def _ids(line: Any) -> dict[str, Any]:
    return {k: getattr(line, k) for k in ("buyer_item", "vendor_item", "gtin")}


def acknowledgment_from(so: SalesOrder, po: PurchaseOrder, *, seller_id: str) -> OrderAcknowledgment | None:
    """The customer's 855 for the ERP's sales order: confirmed quantities (requested when none)."""
    lines = []
    for item in so.items:
        ln = _line(po, item.item)
        if ln is None:
            continue
        qty = item.confirmed_quantity if item.confirmed_quantity is not None else item.requested_quantity
        status = AckLineStatus.ACCEPTED if qty == ln.quantity else AckLineStatus.CHANGED
        lines.append(AckLine(line_number=ln.line_number, status=status, ordered_quantity=ln.quantity, quantity=qty,
                             uom=ln.uom, unit_price=ln.unit_price, **_ids(ln)))
    if not lines:
        return None
    changed = any(ln.status is not AckLineStatus.ACCEPTED for ln in lines)
    return OrderAcknowledgment(po_number=po.po_number, po_date=po.order_date, ack_number=so.sales_order,
                               ack_date=so.order_date or utcnow().date(), currency=po.currency, buyer=po.buyer,
                               status=AckStatus.ACCEPTED_WITH_CHANGES if changed else AckStatus.ACCEPTED,
                               seller=po.seller or {"id": seller_id}, lines=lines)


def ship_notice_from(delivery: Delivery, po: PurchaseOrder, *, seller_id: str) -> ShipNotice | None:
    """The customer's 856 for one ERP delivery of their order (None when no item is theirs)."""
    items = [ShippedItem(line_number=ln.line_number, description=ln.description, quantity=item.quantity,
                         uom=ln.uom, **_ids(ln))
             for item in delivery.items if (ln := _line(po, item.sales_order_item)) is not None]
    if not items:
        return None
    return ShipNotice(shipment_id=delivery.delivery, ship_date=delivery.delivery_date or utcnow().date(),
                      seller=po.seller or {"id": seller_id}, buyer=po.buyer, ship_to=po.ship_to or po.buyer,
                      orders=[ShipNoticeOrder(po_number=po.po_number, packs=[Pack(items=items)])])


def invoice_from(billing: BillingDocument, po: PurchaseOrder, *, seller_id: str,
                 shipment_id: str | None = None) -> Invoice | None:
    """The customer's 810 for one ERP billing document: billed quantities and net amounts."""
    lines = []
    for item in billing.items:
        ln = _line(po, item.sales_order_item)
        if ln is None or item.quantity <= 0:
            continue
        price = (item.net_amount / item.quantity).quantize(Decimal("0.0001")).normalize()
        lines.append(InvoiceLine(line_number=ln.line_number, po_line_number=ln.line_number, description=ln.description,
                                 quantity=item.quantity, uom=ln.uom, unit_price=price, **_ids(ln)))
    if not lines:
        return None
    total = sum((ln.billed_amount() for ln in lines), Decimal(0))
    return Invoice(invoice_number=billing.billing_document, invoice_date=billing.billing_date or date.today(),
                   po_number=po.po_number, shipment_id=shipment_id, currency=billing.currency or po.currency,
                   seller=po.seller or {"id": seller_id}, buyer=po.buyer, ship_to=po.ship_to, lines=lines,
                   totals=InvoiceTotals(lines_amount=total, total_amount=total))


class ErpDocumentFeed:
    """Queues 856s and 810s for customers with an EDI profile, from what changed in the ERP."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def run(self) -> dict[str, int]:
        counts = {"order_acknowledgment": 0, "ship_notice": 0, "invoice": 0}
        with self.db.reader() as s:
            scopes = erp_scopes(s)
        for scope in scopes:
            gateway = gateway_for(scope.connection)
            key = "erp-documents:" + hashlib.sha256(
                json.dumps(scope.connection, sort_keys=True, default=str).encode()).hexdigest()[:16]
            with self.db.reader() as s:
                state = s.get(ConnectorState, key)
                tokens: dict[str, Any] = dict(state.value) if state is not None else {}
            orders = gateway.read_sales_order_changes(since=tokens.get("sales_orders"))
            deliveries = gateway.read_deliveries(since=tokens.get("deliveries"))
            billings = gateway.read_billing_documents(since=tokens.get("billing_documents"))
            with self.db.session() as s:
                shipped: dict[str, str] = {}
                for so in orders.records:
                    for order, partner in self._orders(s, {so.sales_order}, scope.targets, "855"):
                        ack = acknowledgment_from(so, order, seller_id=_us(partner))
                        if ack is not None and self._queue(s, partner, ack, so.sales_order):
                            counts["order_acknowledgment"] += 1
                for delivery in deliveries.records:
                    for order, partner in self._orders(s, {i.sales_order for i in delivery.items}, scope.targets,
                                                       "856"):
                        notice = ship_notice_from(delivery, order, seller_id=_us(partner))
                        if notice is not None and self._queue(s, partner, notice, delivery.delivery):
                            counts["ship_notice"] += 1
                        shipped[order.po_number] = delivery.delivery
                for billing in billings.records:
                    for order, partner in self._orders(s, {i.sales_order for i in billing.items}, scope.targets,
                                                       "810"):
                        bill = invoice_from(billing, order, seller_id=_us(partner),
                                            shipment_id=shipped.get(order.po_number))
                        if bill is not None and self._queue(s, partner, bill, billing.billing_document):
                            counts["invoice"] += 1
                value = {"sales_orders": orders.delta_token, "deliveries": deliveries.delta_token,
                         "billing_documents": billings.delta_token}
                row = s.get(ConnectorState, key)
                if row is None:
                    s.add(ConnectorState(key=key, value=value))
                else:
                    row.value = value
        return counts

    @staticmethod
    def _orders(s: Session, sales_orders: set[str], targets: dict[str, Any], set_id: str
                ) -> list[tuple[PurchaseOrder, dict[str, Any]]]:
        """The hub's orders behind these sales orders, for partners who take ``set_id`` from the ERP."""
        out = []
        docs = s.scalars(select(Document).where(Document.erp_document_number.in_(sorted(sales_orders - {""})),
                                                Document.document_type == "purchase_order",
                                                Document.partner_id.in_(sorted(targets))).order_by(Document.id.desc()))
        seen: set[str] = set()
        for doc in docs:
            partner = partner_dict(s, doc.partner_id)
            if doc.erp_document_number in seen or partner is None or not partner.get("edi") \
                    or set_id in (partner["edi"].get("auto_respond") or []):
                continue
            seen.add(str(doc.erp_document_number))
            # The order as its changes left it: line numbers and quantities of every revision.
            revisions = s.scalars(select(Document.canonical).where(
                Document.business_key == doc.business_key, Document.partner_id == doc.partner_id,
                Document.document_type == "purchase_order"))
            order = current_order(PurchaseOrder.model_validate(c) for c in revisions)
            if order is not None:
                out.append((order, partner))
        return out

    @staticmethod
    def _queue(s: Session, partner: dict[str, Any], doc: OrderAcknowledgment | ShipNotice | Invoice,
               number: str) -> bool:
        held = s.scalar(select(Document.id).where(Document.idempotency_key == doc.idempotency_key))
        row = queue_document(s, partner, doc)
        s.execute(update(Document).where(Document.id == row.document_id).values(erp_document_number=number))
        return held is None
