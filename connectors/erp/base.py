"""The ERP gateway: what Crossdock asks of an ERP, independent of which ERP it is.

Every write returns the ERP's document number. Failures are raised as
``canonical.errors`` classes only: ``RetryableError`` (with ``retry_after`` when the
ERP said), ``PermanentError`` (``code="erp.unauthorized"``, ``"erp.bad_request"`` ...)
and ``BusinessException`` (``code="erp.rejected.unknown_material"`` ...). A gateway
never retries in a loop; the hub's retry policy decides.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from canonical.documents import Invoice, OrderAcknowledgment, PurchaseOrder
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

__all__ = ["ErpGateway"]


class ErpGateway(abc.ABC):
    """One ERP system. Implementations: :class:`connectors.erp.sap_s4.SapS4Gateway`.

    Usage:
        gateway = SapS4Gateway(SapS4Config(base_url="https://s4.example.com", ...))
        number, created = gateway.ensure_sales_order(po, sold_to="1000001",
                                                     materials={"1": "TG11"})
    """

    # ------------------------------------------------------------ sales orders
    @abc.abstractmethod
    def find_sales_order(self, *, customer_po: str, sold_to: str) -> str | None:
        """The sales order number for this customer PO and sold-to party, if one exists."""

    @abc.abstractmethod
    def create_sales_order(
        self, po: PurchaseOrder, *, sold_to: str, materials: Mapping[str, str]
    ) -> str:
        """Create unconditionally (no lookup); ``materials`` maps PO line number → material."""

    @abc.abstractmethod
    def ensure_sales_order(
        self, po: PurchaseOrder, *, sold_to: str, materials: Mapping[str, str]
    ) -> EnsureResult:
        """Exactly-once create: look up first, create only if absent."""

    @abc.abstractmethod
    def read_sales_order(self, sales_order: str) -> SalesOrder | None:
        """The order with its items, or None when the ERP has no such order."""

    @abc.abstractmethod
    def change_sales_order(self, sales_order: str, changes: Sequence[SalesOrderItemChange]) -> None:
        """Update, insert or cancel items as told; no look-up of its own (the caller plans from
        a fresh read). A change still in doubt after a timeout holds the next one off."""

    @abc.abstractmethod
    def read_sales_order_changes(self, *, since: str | None = None) -> DeltaPage[SalesOrder]:
        """Sales orders (with items) changed since the token: reconciliation's view."""

    # ---------------------------------------------------- documents (delta)
    @abc.abstractmethod
    def read_deliveries(self, *, since: str | None = None) -> DeltaPage[Delivery]:
        """Outbound deliveries changed since the token (all of them when None)."""

    @abc.abstractmethod
    def read_billing_documents(self, *, since: str | None = None) -> DeltaPage[BillingDocument]:
        """Billing documents changed since the token (all of them when None)."""

    @abc.abstractmethod
    def read_purchase_orders(
        self, *, supplier: str | None = None, numbers: Sequence[str] = (),
        created_since: datetime | None = None,
    ) -> list[ErpPurchaseOrder]:
        """Our purchase orders with their items (no delta: the ERP offers none; a creation
        time watermark stands in for it)."""

    # ---------------------------------------------------------- master data
    @abc.abstractmethod
    def read_products(self, *, since: str | None = None) -> DeltaPage[Product]:
        """Products changed since the token (all of them when None)."""

    @abc.abstractmethod
    def read_business_partners(self, *, since: str | None = None) -> DeltaPage[BusinessPartner]:
        """Business partners changed since the token (all of them when None)."""

    # ------------------------------------------------------------- postings
    @abc.abstractmethod
    def post_delivery(
        self, *, delivery_id: str, ship_date: date, lines: Sequence[DeliveryLine]
    ) -> IdocReceipt:
        """Post a delivery (DELVRY07 IDoc) against sales order items; 51 raises."""

    @abc.abstractmethod
    def post_goods_receipt(
        self, *, delivery_note: str, posting_date: date, lines: Sequence[GoodsReceiptLine]
    ) -> str:
        """Receive a supplier's shipment against our PO; returns the material document."""

    @abc.abstractmethod
    def find_goods_receipt(self, *, delivery_note: str) -> str | None:
        """The material document that received the supplier's delivery note, if any."""

    @abc.abstractmethod
    def post_supplier_invoice(
        self, invoice: Invoice, *, supplier: str, items: Sequence[SupplierInvoiceItem] = ()
    ) -> str:
        """Post a supplier's invoice (``items`` against our PO) once; returns the ERP's number."""

    @abc.abstractmethod
    def read_supplier_invoices(self, *, supplier: str) -> list[PostedSupplierInvoice]:
        """The supplier's invoices in the ERP, with the PO items each was posted against."""

    @abc.abstractmethod
    def post_order_confirmation(
        self, ack: OrderAcknowledgment, *, purchase_order: str, supplier: str
    ) -> IdocReceipt:
        """File a supplier's confirmation of our purchase order (ORDRSP IDoc)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections."""
