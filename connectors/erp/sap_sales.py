"""Sales orders over API_SALES_ORDER_SRV: look up, read, create, and create exactly once.

S/4HANA never deduplicates a create, so :meth:`SalesOrders.ensure` looks the order up by
``PurchaseOrderByCustomer`` + ``SoldToParty`` before it creates, and after a create whose
answer never came (a timeout) it looks again instead of repeating the write. While such a
write may still be in flight it refuses to create the same order for
``in_doubt_hold_seconds`` and raises ``RetryableError`` instead. A change of an order's
items (:meth:`SalesOrders.change`) is held the same way after a timeout, because its
caller plans the change from the order as it reads it, and an insert still in flight is
not there to be read yet.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from canonical.documents import PurchaseOrder
from canonical.errors import RetryableError
from connectors.erp.models import (
    DeltaPage,
    EnsureResult,
    SalesOrder,
    SalesOrderItem,
    SalesOrderItemChange,
)
from connectors.erp.sap_batch import batch_get
from connectors.erp.sap_change import change_items
from connectors.erp.sap_checks import check_order_parties
from connectors.erp.sap_errors import business_exception
from connectors.erp.sap_http import SapSession, WriteInDoubt
from connectors.erp.sap_odata import delta_read, odata_date, odata_decimal, quote, results

__all__ = ["SERVICE", "SalesOrders", "parse_sales_order", "sales_order_payload"]

SERVICE = "API_SALES_ORDER_SRV"


def _v2_date(day: date) -> str:
    ms = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return f"/Date({ms})/"


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f")


def sales_order_payload(po: PurchaseOrder, *, sold_to: str, materials: Mapping[str, str],
                        header: Mapping[str, str], units: Mapping[str, str]) -> dict[str, Any]:
    """The deep-insert body for A_SalesOrder with its items, one per PO line."""
    unmapped = [ln.line_number for ln in po.lines if not materials.get(ln.line_number)]
    if unmapped:
        raise business_exception(
            "erp.rejected.unmapped_item",
            f"PO {po.po_number}: no material for line(s) {', '.join(unmapped)}",
            details={"customer_po": po.po_number, "sold_to": sold_to, "lines": unmapped})
    items = []
    for line in po.lines:
        item: dict[str, Any] = {
            "Material": materials[line.line_number],
            "RequestedQuantity": _amount(line.quantity),
            "RequestedQuantityUnit": units.get(line.uom, line.uom),
            "PurchaseOrderByCustomer": po.po_number,
        }
        if line.buyer_item:
            item["MaterialByCustomer"] = line.buyer_item[:35]
        if line.description:
            item["SalesOrderItemText"] = line.description[:40]
        if line.unit_price is not None:
            item["NetAmount"] = _amount(line.unit_price * line.quantity)
        if line.requested_delivery_date:
            item["RequestedDeliveryDate"] = _v2_date(line.requested_delivery_date)
        items.append(item)
    body: dict[str, Any] = {
        **header, "SoldToParty": sold_to, "PurchaseOrderByCustomer": po.po_number,
        "CustomerPurchaseOrderDate": _v2_date(po.order_date),
        "TransactionCurrency": po.currency, "to_Item": items,
    }
    if po.requested_delivery_date:
        body["RequestedDeliveryDate"] = _v2_date(po.requested_delivery_date)
    return body


def parse_sales_order(row: Mapping[str, Any]) -> SalesOrder:
    items = [SalesOrderItem(
        item=str(it.get("SalesOrderItem", "")), material=str(it.get("Material") or ""),
        text=str(it.get("SalesOrderItemText") or ""),
        requested_quantity=odata_decimal(it.get("RequestedQuantity")),
        unit=str(it.get("RequestedQuantityUnit") or ""),
        net_amount=odata_decimal(it.get("NetAmount")),
        confirmed_quantity=(odata_decimal(it["ConfdDelivQtyInOrderQtyUnit"])
                            if it.get("ConfdDelivQtyInOrderQtyUnit") not in (None, "") else None),
        material_by_customer=str(it.get("MaterialByCustomer") or ""),
        rejection_reason=str(it.get("SalesDocumentRjcnReason") or ""),
    ) for it in results(row.get("to_Item"))]
    return SalesOrder(
        sales_order=str(row["SalesOrder"]), sold_to=str(row.get("SoldToParty") or ""),
        customer_po=str(row.get("PurchaseOrderByCustomer") or ""),
        currency=str(row.get("TransactionCurrency") or ""),
        total_net_amount=odata_decimal(row.get("TotalNetAmount")),
        order_date=odata_date(row.get("SalesOrderDate")),
        requested_delivery_date=odata_date(row.get("RequestedDeliveryDate")),
        delivery_status=str(row.get("OverallDeliveryStatus") or ""),
        process_status=str(row.get("OverallSDProcessStatus") or ""), items=items)


class SalesOrders:
    """The sales-order part of the S/4HANA gateway."""

    def __init__(self, session: SapSession) -> None:
        self.session = session
        self._in_doubt: dict[tuple[str, str], float] = {}
        self._change_in_doubt: dict[str, float] = {}

    def find(self, *, customer_po: str, sold_to: str) -> str | None:
        flt = f"PurchaseOrderByCustomer eq {quote(customer_po)} and SoldToParty eq {quote(sold_to)}"
        payload = self.session.get_json(SERVICE, "A_SalesOrder", {
            "$filter": flt, "$select": "SalesOrder", "$orderby": "SalesOrder"})
        rows = results(payload)
        return str(rows[0]["SalesOrder"]) if rows else None

    def read(self, sales_order: str) -> SalesOrder | None:
        path = self.session.service_path(SERVICE, f"A_SalesOrder({quote(sales_order)})")
        response = self.session.request("GET", path, ok=(404,),
                                        params={"$expand": "to_Item", "$format": "json"})
        return None if response.status_code == 404 else parse_sales_order(response.json()["d"])

    def read_many(self, numbers: Sequence[str]) -> list[SalesOrder]:
        """Several orders with their items in one ``$batch``; unknown numbers are skipped."""
        parts = batch_get(self.session, SERVICE,
                          [f"A_SalesOrder({quote(n)})?$expand=to_Item" for n in numbers])
        return [parse_sales_order(p.data) for p in parts if p.data]

    def changes(self, *, since: str | None) -> DeltaPage[SalesOrder]:
        return delta_read(self.session, SERVICE, "A_SalesOrder", parse_sales_order,
                          since=since, expand="to_Item")

    def create(self, po: PurchaseOrder, *, sold_to: str, materials: Mapping[str, str]) -> str:
        cfg = self.session.config
        header = {"SalesOrderType": cfg.sales_order_type,
                  "SalesOrganization": cfg.sales_organization,
                  "DistributionChannel": cfg.distribution_channel,
                  "OrganizationDivision": cfg.division}
        body = sales_order_payload(po, sold_to=sold_to, materials=materials, header=header,
                                   units={"EA": "PC"})
        if cfg.validate_before_create:
            check_order_parties(self.session, po, sold_to=sold_to, materials=materials)
        created = self.session.post_json(SERVICE, "A_SalesOrder", body)
        return str(created["SalesOrder"])

    def ensure(self, po: PurchaseOrder, *, sold_to: str, materials: Mapping[str, str]) -> EnsureResult:
        key = (po.po_number, sold_to)
        existing = self.find(customer_po=po.po_number, sold_to=sold_to)
        if existing:
            self._in_doubt.pop(key, None)
            return EnsureResult(existing, False)
        evidence = {"customer_po": po.po_number, "sold_to": sold_to}
        hold_until = self._in_doubt.get(key, 0.0)
        if time.monotonic() < hold_until:
            raise RetryableError(
                f"A create of sales order for PO {po.po_number} may still be in flight",
                code="erp.write_in_doubt", retry_after=hold_until - time.monotonic(),
                details=evidence)
        try:
            return EnsureResult(self.create(po, sold_to=sold_to, materials=materials), True)
        except WriteInDoubt as doubt:
            # The ERP may have written it after we gave up: hold further creates first (the
            # look-up below may fail too), then look - never repeat the write blindly.
            hold = self.session.config.in_doubt_hold_seconds
            self._in_doubt[key] = time.monotonic() + hold
            existing = self.find(customer_po=po.po_number, sold_to=sold_to)
            if existing:
                self._in_doubt.pop(key, None)
                return EnsureResult(existing, True)
            raise WriteInDoubt(doubt.message, code=doubt.code, retry_after=hold or None,
                               details={**doubt.details, **evidence}) from doubt

    def change(self, sales_order: str, changes: Sequence[SalesOrderItemChange]) -> list[dict[str, str]]:
        """Apply item changes (BAPI_SALESORDER_CHANGE); refuse while an earlier one is in doubt."""
        evidence = {"sales_order": sales_order}
        hold_until = self._change_in_doubt.get(sales_order, 0.0)
        if time.monotonic() < hold_until:
            raise RetryableError(f"A change of sales order {sales_order} may still be in flight",
                                 code="erp.write_in_doubt", retry_after=hold_until - time.monotonic(),
                                 details=evidence)
        try:
            rows = change_items(self.session, sales_order, changes)
        except WriteInDoubt as doubt:
            hold = self.session.config.in_doubt_hold_seconds
            self._change_in_doubt[sales_order] = time.monotonic() + hold
            raise WriteInDoubt(doubt.message, code=doubt.code, retry_after=hold or None,
                               details={**doubt.details, **evidence}) from doubt
        self._change_in_doubt.pop(sales_order, None)
        return rows
