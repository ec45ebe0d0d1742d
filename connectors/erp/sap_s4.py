"""The ERP gateway for SAP S/4HANA over its public OData V2 APIs and inbound IDocs.

Usage:
    >>> from connectors.erp import SapS4Config, SapS4Gateway
    >>> gateway = SapS4Gateway(SapS4Config(base_url="http://127.0.0.1:8000", auth="none"))
    >>> gateway.close()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import ClassVar

import httpx

from canonical.documents import Invoice, OrderAcknowledgment, PurchaseOrder
from connectors.erp import sap_documents, sap_goods_receipt, sap_invoices, sap_master
from connectors.erp.base import ErpGateway
from connectors.erp.models import (
    BillingDocument,
    BusinessPartner,
    Delivery,
    DeliveryLine,
    DeltaPage,
    EnsureResult,
    ErpPurchaseOrder,
    GoodsReceiptLine,
    IdocReceipt,
    PostedSupplierInvoice,
    Product,
    SalesOrder,
    SalesOrderItemChange,
    SupplierInvoiceItem,
)
from connectors.erp.sap_config import SapS4Config
from connectors.erp.sap_http import SapSession
from connectors.erp.sap_idoc import delvry07_xml, ordrsp_xml, post_idoc
from connectors.erp.sap_sales import SalesOrders

__all__ = ["SapS4Gateway"]


class SapS4Gateway(ErpGateway):
    """S/4HANA (or mock-sap): sales orders, documents and master data over OData V2.

    Usage:
        gateway = SapS4Gateway(SapS4Config(base_url=url, auth="basic", username=u, password=p))
        number, created = gateway.ensure_sales_order(po, sold_to="1000001",
                                                     materials={"1": "TG11"})
    """

    kind: ClassVar[str] = "sap_s4"
    config_model: ClassVar[type[SapS4Config]] = SapS4Config

    def __init__(self, config: SapS4Config, *, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.session = SapSession(config, transport=transport)
        self.sales = SalesOrders(self.session)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> SapS4Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ sales orders
    def find_sales_order(self, *, customer_po: str, sold_to: str) -> str | None:
        return self.sales.find(customer_po=customer_po, sold_to=sold_to)

    def create_sales_order(self, po: PurchaseOrder, *, sold_to: str,
                           materials: Mapping[str, str]) -> str:
        return self.sales.create(po, sold_to=sold_to, materials=materials)

    def ensure_sales_order(self, po: PurchaseOrder, *, sold_to: str,
                           materials: Mapping[str, str]) -> EnsureResult:
        return self.sales.ensure(po, sold_to=sold_to, materials=materials)

    def read_sales_order(self, sales_order: str) -> SalesOrder | None:
        return self.sales.read(sales_order)

    def change_sales_order(self, sales_order: str, changes: Sequence[SalesOrderItemChange]) -> None:
        self.sales.change(sales_order, changes)

    def read_sales_orders(self, numbers: Sequence[str]) -> list[SalesOrder]:
        """Several orders in one ``$batch`` round trip; unknown numbers are left out."""
        return self.sales.read_many(numbers)

    def read_sales_order_changes(self, *, since: str | None = None) -> DeltaPage[SalesOrder]:
        return self.sales.changes(since=since)

    # ---------------------------------------------------------------- documents
    def read_deliveries(self, *, since: str | None = None) -> DeltaPage[Delivery]:
        return sap_documents.read_deliveries(self.session, since=since)

    def read_billing_documents(self, *, since: str | None = None) -> DeltaPage[BillingDocument]:
        return sap_documents.read_billing_documents(self.session, since=since)

    def read_purchase_orders(self, *, supplier: str | None = None, numbers: Sequence[str] = (),
                             created_since: datetime | None = None) -> list[ErpPurchaseOrder]:
        return sap_documents.read_purchase_orders(self.session, supplier=supplier, numbers=numbers,
                                                  created_since=created_since)

    # -------------------------------------------------------------- master data
    def read_products(self, *, since: str | None = None) -> DeltaPage[Product]:
        return sap_master.read_products(self.session, since=since)

    def read_business_partners(self, *, since: str | None = None) -> DeltaPage[BusinessPartner]:
        return sap_master.read_business_partners(self.session, since=since)

    # ----------------------------------------------------------------- postings
    def post_delivery(self, *, delivery_id: str, ship_date: date,
                      lines: Sequence[DeliveryLine]) -> IdocReceipt:
        xml = delvry07_xml(self.config, delivery_id=delivery_id, ship_date=ship_date, lines=lines)
        return post_idoc(self.session, xml, evidence={"delivery_id": delivery_id})

    def post_goods_receipt(self, *, delivery_note: str, posting_date: date,
                           lines: Sequence[GoodsReceiptLine]) -> str:
        return sap_goods_receipt.post_goods_receipt(
            self.session, delivery_note=delivery_note, posting_date=posting_date, lines=lines)

    def find_goods_receipt(self, *, delivery_note: str) -> str | None:
        return sap_goods_receipt.find_goods_receipt(self.session, delivery_note=delivery_note)

    def post_supplier_invoice(self, invoice: Invoice, *, supplier: str,
                              items: Sequence[SupplierInvoiceItem] = ()) -> str:
        return sap_invoices.post_supplier_invoice(self.session, invoice, supplier=supplier, items=items)

    def read_supplier_invoices(self, *, supplier: str) -> list[PostedSupplierInvoice]:
        return sap_invoices.read_supplier_invoices(self.session, supplier=supplier)

    def post_order_confirmation(self, ack: OrderAcknowledgment, *, purchase_order: str,
                                supplier: str) -> IdocReceipt:
        xml = ordrsp_xml(self.config, ack, purchase_order=purchase_order, supplier=supplier)
        return post_idoc(self.session, xml,
                         evidence={"purchase_order": purchase_order, "supplier": supplier})
