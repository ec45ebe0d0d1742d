"""Documents the ERP makes from our orders, and our purchase orders: read, with delta.

Deliveries (API_OUTBOUND_DELIVERY_SRV) and billing documents (API_BILLING_DOCUMENT_SRV)
support delta; purchase orders (API_PURCHASEORDER_PROCESS_SRV) do not, so they are read by
supplier, by number, or by creation time (a watermark the caller keeps).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from connectors.erp.models import (
    BillingDocument,
    BillingItem,
    Delivery,
    DeliveryItem,
    DeltaPage,
    ErpPurchaseOrder,
    ErpPurchaseOrderItem,
)
from connectors.erp.sap_http import SapSession
from connectors.erp.sap_odata import (
    delta_read,
    dt_literal,
    odata_date,
    odata_datetime,
    odata_decimal,
    quote,
    read_all,
    results,
)

__all__ = [
    "parse_billing_document",
    "parse_delivery",
    "parse_purchase_order",
    "read_billing_documents",
    "read_deliveries",
    "read_purchase_orders",
]


def _s(row: Mapping[str, Any], name: str) -> str:
    return str(row.get(name) or "")


def parse_delivery(row: Mapping[str, Any]) -> Delivery:
    return Delivery(
        delivery=_s(row, "DeliveryDocument"), sold_to=_s(row, "SoldToParty"),
        ship_to=_s(row, "ShipToParty"), delivery_date=odata_date(row.get("DeliveryDate")),
        goods_movement_status=_s(row, "OverallGoodsMovementStatus"),
        items=[DeliveryItem(
            item=_s(it, "DeliveryDocumentItem"), material=_s(it, "Material"),
            quantity=odata_decimal(it.get("ActualDeliveredQtyInOrderQtyUnit")),
            unit=_s(it, "OrderQuantityUnit"), sales_order=_s(it, "ReferenceSDDocument"),
            sales_order_item=_s(it, "ReferenceSDDocumentItem"),
        ) for it in results(row.get("to_DeliveryDocumentItem"))])


def parse_billing_document(row: Mapping[str, Any]) -> BillingDocument:
    return BillingDocument(
        billing_document=_s(row, "BillingDocument"), billing_type=_s(row, "BillingDocumentType"),
        sold_to=_s(row, "SoldToParty"), billing_date=odata_date(row.get("BillingDocumentDate")),
        currency=_s(row, "TransactionCurrency"),
        net_amount=odata_decimal(row.get("TotalNetAmount")),
        tax_amount=odata_decimal(row.get("TotalTaxAmount")),
        gross_amount=odata_decimal(row.get("TotalGrossAmount")),
        items=[BillingItem(
            item=_s(it, "BillingDocumentItem"), material=_s(it, "Material"),
            quantity=odata_decimal(it.get("BillingQuantity")), unit=_s(it, "BillingQuantityUnit"),
            net_amount=odata_decimal(it.get("NetAmount")), sales_order=_s(it, "SalesDocument"),
            sales_order_item=_s(it, "SalesDocumentItem"),
        ) for it in results(row.get("to_Item"))])


def parse_purchase_order(row: Mapping[str, Any]) -> ErpPurchaseOrder:
    return ErpPurchaseOrder(
        purchase_order=_s(row, "PurchaseOrder"), supplier=_s(row, "Supplier"),
        currency=_s(row, "DocumentCurrency"), order_date=odata_date(row.get("PurchaseOrderDate")),
        created_at=odata_datetime(row.get("CreationDate")),
        items=[ErpPurchaseOrderItem(
            item=_s(it, "PurchaseOrderItem"), material=_s(it, "Material"),
            text=_s(it, "PurchaseOrderItemText"), quantity=odata_decimal(it.get("OrderQuantity")),
            unit=_s(it, "PurchaseOrderQuantityUnit"),
            net_price=odata_decimal(it.get("NetPriceAmount")),
            price_unit=odata_decimal(it.get("NetPriceQuantity")) or Decimal(1), plant=_s(it, "Plant"),
            completely_delivered=bool(it.get("IsCompletelyDelivered")),
        ) for it in results(row.get("to_PurchaseOrderItem"))])


def read_deliveries(session: SapSession, *, since: str | None) -> DeltaPage[Delivery]:
    return delta_read(session, "API_OUTBOUND_DELIVERY_SRV", "A_OutbDeliveryHeader",
                      parse_delivery, since=since, expand="to_DeliveryDocumentItem")


def read_billing_documents(session: SapSession, *, since: str | None) -> DeltaPage[BillingDocument]:
    return delta_read(session, "API_BILLING_DOCUMENT_SRV", "A_BillingDocument",
                      parse_billing_document, since=since, expand="to_Item")


def read_purchase_orders(session: SapSession, *, supplier: str | None, numbers: Sequence[str],
                         created_since: datetime | None = None) -> list[ErpPurchaseOrder]:
    """By supplier and/or number; ``created_since`` stands in for the delta the API lacks."""
    clauses = [f"PurchaseOrder eq {quote(n)}" for n in numbers]
    flt = " or ".join(clauses)
    if supplier:
        flt = f"Supplier eq {quote(supplier)}" + (f" and ({flt})" if flt else "")
    if created_since is not None:
        moment = created_since.astimezone(UTC) if created_since.tzinfo else created_since
        flt = f"CreationDate ge {dt_literal(moment)}" + (f" and ({flt})" if flt else "")
    params = {"$expand": "to_PurchaseOrderItem", **({"$filter": flt} if flt else {})}
    rows = read_all(session, "API_PURCHASEORDER_PROCESS_SRV", "A_PurchaseOrder", params)
    return [parse_purchase_order(row) for row in rows]
