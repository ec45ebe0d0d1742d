"""What reconciliation compares, gathered as plain records: the hub's orders and the ERP's.

The hub side: each customer with an ``sap_s4`` destination, each of its orders as its
revisions left it (changes folded in; a cancelled one has no quantities, and is left out
when the ERP never had it), with quantities per ERP material mapped the same way the
write-back maps them. An order still waiting in the outbox, or whose write-back
already opened a case, is marked pending: it is someone's work already, not a finding.
The ERP side: sales orders, deliveries and billing documents read through the gateway.
For suppliers: their accepted 856s and 810s, and the goods receipts (by delivery note) and
supplier invoices (by the supplier's invoice number) the ERP holds for them.

Each side is read for the run's window (:mod:`hub.reconcile.window`): the hub's documents
received since ``start`` (an order counts when any of its revisions did, and is then folded
from all of them), the ERP's records changed since ``since``; ``hub_orders_for`` and
``erp_orders_for`` then fetch the other side of what one side returned, by key, at any age.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canonical.documents import Invoice, OrderPurpose, PurchaseOrder, ShipNotice
from connectors.erp import BillingDocument, Delivery, SalesOrder, SapS4Gateway
from hub.erp.changes import current_order
from hub.erp.destination import ErpTarget, line_materials
from hub.erp.suppliers import ErpSupplierTarget
from hub.runtime.processing import OPEN_STATES
from hub.storage.tables import Case, Document, Job, JsonText, Partner
from pipelines.reconcile import ErpDelivery, ErpOrder, ErpPosting, HubOrder, SupplierDocument

__all__ = ["ErpScope", "billing_view", "erp_orders", "erp_orders_for", "erp_postings", "erp_scopes", "hub_orders",
           "hub_orders_for", "read_deliveries", "supplier_documents"]

CLOSED_CASES = ("resolved", "rejected", "approved", "auto_resolved")


@dataclass(slots=True)
class ErpScope:
    """One ERP connection and the customers (partner, sold-to, mapping) the hub writes into it."""

    connection: dict[str, Any]
    targets: dict[str, ErpTarget] = field(default_factory=dict)  # partner id -> its target

    @property
    def sold_to_parties(self) -> set[str]:
        return {t.sold_to for t in self.targets.values()}


def erp_scopes(s: Session) -> list[ErpScope]:
    """Every ERP connection named by a partner's ``sap_s4`` destination, with its customers."""
    scopes: dict[str, ErpScope] = {}
    for partner in s.scalars(select(Partner).where(Partner.active.is_(True)).order_by(Partner.id)):
        for dest in (partner.profile or {}).get("destinations") or []:
            types = dest.get("document_types") or []
            if dest.get("type") != "sap_s4" or "sold_to" not in (dest.get("erp") or {}) \
                    or (types and "purchase_order" not in types):
                continue  # a supplier's destination has no sold-to: it is not about customer orders
            target = ErpTarget.model_validate(dest["erp"])
            key = repr(sorted(target.connection.items()))
            scopes.setdefault(key, ErpScope(target.connection)).targets[partner.id] = target
    return list(scopes.values())


def _quantities(po: PurchaseOrder, target: ErpTarget) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Quantities per material, and values (quantity x price) per material where every line has a price."""
    materials = line_materials(po, target)
    out: dict[str, Decimal] = defaultdict(Decimal)
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    unpriced: set[str] = set()
    for line in po.lines:
        material = materials.get(line.line_number) or f"unmapped:{line.buyer_item or line.vendor_item or line.gtin}"
        out[material] += line.quantity
        if line.unit_price is None:
            unpriced.add(material)
        else:
            amounts[material] += line.quantity * line.unit_price
    return dict(out), {m: v for m, v in amounts.items() if m not in unpriced}


def hub_orders(s: Session, scope: ErpScope, *, start: datetime | None = None
               ) -> tuple[list[HubOrder], dict[str, date]]:
    """The latest revision of every order of the scope's customers received since ``start`` (any of
    its revisions; None: ever), and each sold-to's first order date (ever, whatever ``start``)."""
    orders: list[HubOrder] = []
    since: dict[str, date] = {}
    for partner_id, target in scope.targets.items():
        ours = (Document.partner_id == partner_id) & (Document.document_type == "purchase_order")
        first = s.scalar(select(func.min(Document.created_at)).where(ours))
        if first is not None:
            since[target.sold_to] = min(since.get(target.sold_to, first.date()), first.date())
        which = ours
        if start is not None:
            which = ours & Document.business_key.in_(select(Document.business_key).where(
                ours & (Document.created_at >= start)))
        orders += _orders(s, partner_id, target, which)
    return orders, since


def hub_orders_for(s: Session, scope: ErpScope, *, customer_pos: Iterable[tuple[str, str]] = (),
                   sales_orders: Collection[str] = ()) -> list[HubOrder]:
    """The orders (at any age) behind these (sold-to, customer PO) pairs or ERP sales order numbers."""
    pairs = set(customer_pos)
    numbers = sorted(set(sales_orders) - {""})
    out: list[HubOrder] = []
    for partner_id, target in scope.targets.items():
        pos = sorted(po for sold_to, po in pairs if sold_to == target.sold_to)
        if not pos and not numbers:
            continue
        ours = (Document.partner_id == partner_id) & (Document.document_type == "purchase_order")
        keys = []
        if pos:  # the expression index on the canonical po_number serves this
            keys += list(s.scalars(select(Document.business_key).where(
                ours & JsonText(Document.canonical, "po_number").in_(pos))))
        if numbers:
            keys += list(s.scalars(select(Document.business_key).where(
                ours & Document.erp_document_number.in_(numbers))))
        if keys:
            out += _orders(s, partner_id, target, ours & Document.business_key.in_(sorted(set(keys))))
    return out


def _orders(s: Session, partner_id: str, target: ErpTarget, which: Any) -> list[HubOrder]:
    """The partner's orders among the documents ``which`` selects, each folded from its revisions."""
    orders: list[HubOrder] = []
    open_keys = set(s.scalars(select(Job.ordering_key).where(
        Job.kind == "deliver", Job.partner_id == partner_id, Job.status.in_(OPEN_STATES))))
    with_case = set(s.scalars(select(Case.document_id).where(
        Case.partner_id == partner_id, Case.type.like("erp.%"), Case.status.not_in(CLOSED_CASES))))
    latest: dict[str, list[Document]] = defaultdict(list)
    for doc in s.scalars(select(Document).where(which).order_by(Document.id)):
        latest[doc.business_key].append(doc)
    for business_key, docs in latest.items():
        doc = max(docs, key=lambda d: (int(d.revision) if d.revision.isdigit() else 0, d.id))
        po = current_order(PurchaseOrder.model_validate(d.canonical) for d in docs)
        if po is None or (po.purpose is OrderPurpose.CANCEL and not any(d.erp_document_number for d in docs)):
            continue  # cancelled before the ERP had it: nothing to find there
        numbers = [d.erp_document_number for d in docs if d.erp_document_number]
        quantities, amounts = _quantities(po, target)
        orders.append(HubOrder(
            document_id=doc.id, partner_id=partner_id, business_key=business_key, customer_po=po.po_number,
            sold_to=target.sold_to, quantities=quantities, erp_number=numbers[-1] if numbers else None,
            pending=business_key in open_keys or any(d.id in with_case for d in docs), amounts=amounts))
    return orders


def _erp_order(so: SalesOrder) -> ErpOrder:
    quantities: dict[str, Decimal] = defaultdict(Decimal)
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    for item in so.items:
        if item.is_open:  # a rejected item no longer asks for anything
            quantities[item.material] += item.requested_quantity
            amounts[item.material] += item.net_amount
    return ErpOrder(so.sales_order, so.sold_to, so.customer_po, dict(quantities), so.order_date, dict(amounts))


def erp_orders(gateway: SapS4Gateway, *, since: str | None = None) -> list[ErpOrder]:
    """Sales orders with their items changed since the delta token (None: every one)."""
    return [_erp_order(so) for so in gateway.read_sales_order_changes(since=since).records]


def erp_orders_for(gateway: SapS4Gateway, orders: Iterable[HubOrder], known: Iterable[ErpOrder]) -> list[ErpOrder]:
    """The sales orders of these hub orders that ``known`` lacks: by the number the write-back
    recorded, else by customer PO and sold-to (an order the ERP does not have stays without)."""
    have = {so.sales_order for so in known}
    pairs = {(so.sold_to, so.customer_po) for so in known}
    wanted = [o for o in orders if (o.sold_to, o.customer_po) not in pairs]
    numbers = sorted({o.erp_number for o in wanted if o.erp_number and o.erp_number not in have})
    out = [_erp_order(so) for so in gateway.read_sales_orders(numbers)] if numbers else []
    pairs |= {(so.sold_to, so.customer_po) for so in out}
    for order in wanted:
        if (order.sold_to, order.customer_po) not in pairs:
            number = gateway.find_sales_order(customer_po=order.customer_po, sold_to=order.sold_to)
            if number and number not in have and (so := gateway.read_sales_order(number)) is not None:
                out.append(_erp_order(so))
            pairs.add((order.sold_to, order.customer_po))
    return out


def read_deliveries(gateway: SapS4Gateway, *, since: str | None = None, billed_since: str | None = None
                    ) -> tuple[list[Delivery], list[BillingDocument]]:
    """Deliveries changed since ``since`` and billing documents changed since ``billed_since``
    (None: every one the ERP has)."""
    return (gateway.read_deliveries(since=since).records,
            gateway.read_billing_documents(since=billed_since).records)


def billing_view(deliveries: Iterable[Delivery], billing_documents: Iterable[BillingDocument], *,
                 dated_from: date | None = None) -> tuple[list[ErpDelivery], set[str]]:
    """Deliveries (dated from ``dated_from``, when they have a date) with the sales orders they
    ship, and the sales orders that have been billed."""
    out = [ErpDelivery(d.delivery, d.sold_to, frozenset(i.sales_order for i in d.items if i.sales_order),
                       d.delivery_date)
           for d in deliveries if dated_from is None or d.delivery_date is None or d.delivery_date >= dated_from]
    billed = {i.sales_order for b in billing_documents for i in b.items if i.sales_order}
    return out, billed


def _busy(s: Session, partner_id: str) -> tuple[set[int], set[int | None]]:
    """Documents whose write-back is still in the outbox, and those with an open ERP case."""
    open_jobs = set(s.scalars(select(Job.document_id).where(
        Job.kind == "deliver", Job.partner_id == partner_id, Job.status.in_(OPEN_STATES))))
    with_case = set(s.scalars(select(Case.document_id).where(
        Case.partner_id == partner_id, Case.type.like("erp.%"), Case.status.not_in(CLOSED_CASES))))
    return {d for d in open_jobs if d is not None}, with_case


def supplier_documents(s: Session, partner_id: str, *, start: datetime | None = None) -> list[SupplierDocument]:
    """The supplier's accepted ship notices and invoices (the latest revision of each), those
    whose latest revision came since ``start`` (None: ever). The ERP side is looked up for each by
    key (goods receipt by delivery note, the supplier's invoices), so it needs no window."""
    pending, with_case = _busy(s, partner_id)
    latest: dict[str, Document] = {}
    which = (Document.partner_id == partner_id) & (Document.direction == "inbound") \
        & Document.document_type.in_(("ship_notice", "invoice"))
    if start is not None:
        which = which & (Document.created_at >= start)
    for doc in s.scalars(select(Document).where(which).order_by(Document.id)):
        latest[doc.business_key] = doc
    out = []
    for doc in latest.values():
        if doc.document_type == "ship_notice":
            notice = ShipNotice.model_validate(doc.canonical)
            number, pos, amount = notice.shipment_id, frozenset(o.po_number for o in notice.orders), None
        else:
            invoice = Invoice.model_validate(doc.canonical)
            number, amount = invoice.invoice_number, invoice.totals.total_amount
            pos = frozenset({invoice.po_number} if invoice.po_number else ())
        out.append(SupplierDocument(doc.id, partner_id, doc.business_key, doc.document_type, number, pos, amount,
                                    pending=doc.id in pending or doc.id in with_case))
    return out


def erp_postings(gateway: SapS4Gateway, target: ErpSupplierTarget, documents: list[SupplierDocument]
                 ) -> dict[tuple[str, str], ErpPosting]:
    """What the ERP holds for the supplier's documents, keyed by (document type, number)."""
    out: dict[tuple[str, str], ErpPosting] = {}
    for doc in documents:
        if doc.document_type == "ship_notice" and (found := gateway.find_goods_receipt(delivery_note=doc.number)):
            out[("ship_notice", doc.number)] = ErpPosting(found)
    if any(d.document_type == "invoice" for d in documents):
        for inv in gateway.read_supplier_invoices(supplier=target.supplier):
            out[("invoice", inv.reference)] = ErpPosting(
                inv.supplier_invoice, frozenset(i.purchase_order for i in inv.items if i.purchase_order),
                inv.gross_amount)
    return out
