"""The comparisons themselves: pure functions over plain records, one per reconciliation job.

``reconcile_sales_orders``: every accepted order has exactly one sales order with the same
quantities and, where the order has prices, the same values (quantity x price), and every
recent sales order of our customers has an order in the hub.
``reconcile_billing``: every delivery against one of the hub's sales orders is billed.
``reconcile_supplier_postings``: every supplier 856 / 810 is posted against its purchase order,
an invoice for the amount and purchase order it names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pipelines.reconcile.records import (
    ErpDelivery,
    ErpOrder,
    ErpPosting,
    HubOrder,
    Mismatch,
    Report,
    SupplierDocument,
)

__all__ = ["CENT", "reconcile_billing", "reconcile_sales_orders", "reconcile_supplier_postings"]

CENT = Decimal("0.01")  # values are compared to the cent: the ERP rounds each item to its currency


def _quantity_differences(want: Mapping[str, Decimal], have: Mapping[str, Decimal], *,
                          normalize: bool = True) -> dict[str, list[str]]:
    out = {}
    for material in sorted(set(want) | set(have)):
        ordered, held = want.get(material, Decimal(0)), have.get(material, Decimal(0))
        if ordered != held:
            out[material] = [format(v.normalize() if normalize else v, "f") for v in (ordered, held)]
    return out


def _cents(amounts: Mapping[str, Decimal]) -> dict[str, Decimal]:
    return {k: v.quantize(CENT, ROUND_HALF_UP) for k, v in amounts.items()}


def _about(order: HubOrder, kind: str, summary: str, details: dict[str, Any]) -> Mismatch:
    return Mismatch(kind, order.business_key, summary, partner_id=order.partner_id, document_id=order.document_id,
                    details=details)


def reconcile_sales_orders(hub_orders: Iterable[HubOrder], erp_orders: Iterable[ErpOrder], *,
                           sold_to_parties: Collection[str], since: Mapping[str, date] | None = None) -> Report:
    """Compare the hub's accepted orders with the ERP's sales orders.

    ``sold_to_parties`` are the customers the hub writes orders for; an ERP order of theirs
    dated on or after ``since[sold_to]`` (the hub's first order for them) must have come
    through the hub. Orders still in the outbox are not counted as missing.

    Usage:
        report = reconcile_sales_orders(hub_orders, erp_orders, sold_to_parties={"1000001"})
    """
    report = Report("sales_orders")
    by_po: dict[tuple[str, str], list[ErpOrder]] = defaultdict(list)
    for so in erp_orders:
        by_po[(so.sold_to, so.customer_po)].append(so)
    known: set[tuple[str, str]] = set()
    for order in hub_orders:
        key = (order.sold_to, order.customer_po)
        known.add(key)
        found = sorted(by_po.get(key, []), key=lambda so: so.sales_order)
        if order.pending and not found:
            continue  # degraded mode: it waits in the outbox, it is not missing
        report.checked += 1
        numbers = [so.sales_order for so in found]
        facts: dict[str, Any] = {"business_key": order.business_key, "customer_po": order.customer_po,
                                 "sold_to": order.sold_to, "hub_erp_number": order.erp_number, "sales_orders": numbers}
        differ = report.mismatches.append
        if not found:
            differ(_about(order, "missing_sales_order",
                   f"Order {order.customer_po} of {order.partner_id} has no sales order in the ERP", facts))
        elif len(found) > 1:
            differ(_about(order, "duplicate_sales_order", f"Order {order.customer_po} of {order.partner_id} has {len(found)} "
                   f"sales orders in the ERP: {', '.join(numbers)}", facts))
        elif diff := _quantity_differences(order.quantities, found[0].quantities):
            differ(_about(order, "quantity_mismatch", f"Sales order {found[0].sales_order} differs from order "
                   f"{order.customer_po} in {', '.join(diff)}",
                   {**facts, "quantities": diff, "columns": ["ordered", "erp"]}))
        elif diff := _quantity_differences(_cents(order.amounts), _cents({m: found[0].amounts.get(m, Decimal(0))
                                                                         for m in order.amounts}),
                                           normalize=False):
            differ(_about(order, "amount_mismatch", f"Sales order {found[0].sales_order} values "
                   f"{', '.join(diff)} differently from order {order.customer_po}",
                   {**facts, "amounts": diff, "columns": ["ordered", "erp"]}))
        else:
            report.matched += 1
    starts = since or {}
    for (sold_to, po), found in sorted(by_po.items()):
        if sold_to not in sold_to_parties or (sold_to, po) in known:
            continue
        start = starts.get(sold_to)
        recent = [so for so in found if start is None or (so.order_date is not None and so.order_date >= start)]
        for so in recent:
            report.checked += 1
            report.mismatches.append(Mismatch(
                "orphan_sales_order", so.sales_order,
                f"Sales order {so.sales_order} (customer PO {po}, sold-to {sold_to}) has no order in the hub",
                details={"sales_order": so.sales_order, "customer_po": po, "sold_to": sold_to,
                         "order_date": so.order_date.isoformat() if so.order_date else None}))
    return report


def reconcile_billing(deliveries: Iterable[ErpDelivery], billed_sales_orders: Collection[str], *,
                      hub_sales_orders: Mapping[str, HubOrder]) -> Report:
    """Every delivery against one of the hub's sales orders has a billing document.

    Usage:
        report = reconcile_billing(deliveries, {"0000004712"}, hub_sales_orders={"0000004737": order})
    """
    report = Report("billing")
    for delivery in sorted(deliveries, key=lambda d: d.delivery):
        ours = sorted(so for so in delivery.sales_orders if so in hub_sales_orders)
        if not ours:
            continue
        report.checked += 1
        unbilled = [so for so in ours if so not in billed_sales_orders]
        if not unbilled:
            report.matched += 1
            continue
        order = hub_sales_orders[unbilled[0]]
        report.mismatches.append(Mismatch(
            "delivery_not_billed", delivery.delivery,
            f"Delivery {delivery.delivery} for sales order {', '.join(unbilled)} "
            f"(order {order.customer_po}) was never billed",
            partner_id=order.partner_id, document_id=order.document_id,
            details={"delivery": delivery.delivery, "sales_orders": unbilled, "customer_po": order.customer_po,
                     "business_key": order.business_key,
                     "delivery_date": delivery.delivery_date.isoformat() if delivery.delivery_date else None}))
    return report


def reconcile_supplier_postings(documents: Iterable[SupplierDocument],
                                postings: Mapping[tuple[str, str], ErpPosting]) -> Report:
    """Every supplier ship notice has a goods receipt, every invoice a supplier invoice that agrees.

    ``postings`` maps (document type, number) to what the ERP holds for it. A document whose
    posting still waits in the outbox (or has a case already) is not counted as missing.

    Usage:
        report = reconcile_supplier_postings(docs, {("invoice", "INV-1"): ErpPosting("5105600001", ...)})
    """
    report = Report("supplier_postings")
    for doc in sorted(documents, key=lambda d: d.document_id):
        posted = postings.get((doc.document_type, doc.number))
        if doc.pending and posted is None:
            continue
        report.checked += 1
        what = "ship notice" if doc.document_type == "ship_notice" else "invoice"
        facts: dict[str, Any] = {"document_type": doc.document_type, "number": doc.number,
                                 "purchase_orders": sorted(doc.purchase_orders),
                                 "erp_document": posted.number if posted else None}
        if posted is None:
            kind = "supplier_receipt_not_posted" if doc.document_type == "ship_notice" else "supplier_invoice_not_posted"
            report.mismatches.append(Mismatch(
                kind, doc.business_key, f"The {what} {doc.number} of {doc.partner_id} for purchase order "
                f"{', '.join(sorted(doc.purchase_orders))} is not posted in the ERP",
                partner_id=doc.partner_id, document_id=doc.document_id, details=facts))
            continue
        amount_differs = doc.amount is not None and posted.amount is not None and doc.amount != posted.amount
        other_po = bool(posted.purchase_orders) and posted.purchase_orders != doc.purchase_orders
        if doc.document_type == "invoice" and (amount_differs or other_po):
            report.mismatches.append(Mismatch(
                "supplier_invoice_mismatch", doc.business_key,
                f"Supplier invoice {posted.number} differs from the {what} {doc.number} of {doc.partner_id}: "
                f"amount {posted.amount} against {doc.amount}, purchase orders "
                f"{', '.join(sorted(posted.purchase_orders)) or '-'} against {', '.join(sorted(doc.purchase_orders))}",
                partner_id=doc.partner_id, document_id=doc.document_id,
                details={**facts, "amount": [str(doc.amount), str(posted.amount)], "columns": ["invoice", "erp"],
                         "erp_purchase_orders": sorted(posted.purchase_orders)}))
            continue
        report.matched += 1
    return report
