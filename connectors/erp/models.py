"""What an ERP gateway hands back: typed, ERP-neutral records.

Amounts and quantities are ``Decimal``; dates are ``date``/``datetime``. Each record keeps
the ERP's own document number so a write-back can be traced in the ERP.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BillingDocument",
    "BillingItem",
    "BusinessPartner",
    "Delivery",
    "DeliveryItem",
    "DeliveryLine",
    "DeltaPage",
    "EnsureResult",
    "ErpPurchaseOrder",
    "ErpPurchaseOrderItem",
    "ErpRecord",
    "GoodsReceiptLine",
    "IdocReceipt",
    "PostedSupplierInvoice",
    "Product",
    "SalesOrder",
    "SalesOrderItem",
    "SalesOrderItemChange",
    "SupplierInvoiceItem",
]


class ErpRecord(BaseModel):
    """Base of every record: immutable, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EnsureResult(NamedTuple):
    """``ensure_sales_order``'s answer: the ERP's number, and whether this call created it."""

    sales_order: str
    created: bool


class SalesOrderItem(ErpRecord):
    item: str = Field(description="ERP item number, e.g. 000010")
    material: str
    text: str = ""
    requested_quantity: Decimal
    unit: str
    net_amount: Decimal
    customer_po_item: str | None = Field(None, description="The buyer's line number, when kept")
    confirmed_quantity: Decimal | None = Field(
        None, description="Confirmed by the ERP's schedule lines; None when it reports none")
    material_by_customer: str = Field("", description="The customer's own item number, when kept")
    rejection_reason: str = Field("", description="Set when the item is rejected (cancelled)")

    @property
    def is_open(self) -> bool:
        """Not rejected: the item still asks for its quantity."""
        return not self.rejection_reason


class SalesOrder(ErpRecord):
    sales_order: str
    sold_to: str
    customer_po: str
    currency: str
    total_net_amount: Decimal
    order_date: date | None = None
    requested_delivery_date: date | None = None
    delivery_status: str = Field("", description="A none, B partly, C fully delivered")
    process_status: str = ""
    items: list[SalesOrderItem] = Field(default_factory=list)


class DeliveryItem(ErpRecord):
    item: str
    material: str
    quantity: Decimal
    unit: str
    sales_order: str = ""
    sales_order_item: str = ""


class SalesOrderItemChange(ErpRecord):
    """One item of a change to a sales order: update its quantity, insert it, or cancel it.

    ``net_amount`` is the item's new net value (quantity x price) when the order has prices.
    """

    action: Literal["update", "insert", "cancel"]
    item: str = Field(description="ERP item number, e.g. 000030 (for an insert: the number to give it)")
    material: str = ""
    quantity: Decimal | None = Field(None, gt=0)
    unit: str = ""
    net_amount: Decimal | None = None
    text: str = ""
    material_by_customer: str = ""


class Delivery(ErpRecord):
    delivery: str
    sold_to: str = ""
    ship_to: str = ""
    delivery_date: date | None = None
    goods_movement_status: str = ""
    items: list[DeliveryItem] = Field(default_factory=list)


class BillingItem(ErpRecord):
    item: str
    material: str
    quantity: Decimal
    unit: str
    net_amount: Decimal
    sales_order: str = ""
    sales_order_item: str = ""


class BillingDocument(ErpRecord):
    billing_document: str
    billing_type: str = ""
    sold_to: str = ""
    billing_date: date | None = None
    currency: str = ""
    net_amount: Decimal = Decimal(0)
    tax_amount: Decimal = Decimal(0)
    gross_amount: Decimal = Decimal(0)
    items: list[BillingItem] = Field(default_factory=list)


class ErpPurchaseOrderItem(ErpRecord):
    item: str
    material: str
    text: str = ""
    quantity: Decimal
    unit: str
    net_price: Decimal
    price_unit: Decimal = Field(Decimal(1), gt=0, description="Quantity the net price is for")
    plant: str = ""
    completely_delivered: bool = False

    @property
    def unit_price(self) -> Decimal:
        return self.net_price / self.price_unit


class ErpPurchaseOrder(ErpRecord):
    """A purchase order we placed with a supplier, as the ERP holds it."""

    purchase_order: str
    supplier: str
    currency: str
    order_date: date | None = None
    created_at: datetime | None = None
    items: list[ErpPurchaseOrderItem] = Field(default_factory=list)


class Product(ErpRecord):
    product: str
    product_type: str = ""
    product_group: str = ""
    base_unit: str = ""
    marked_for_deletion: bool = False


class BusinessPartner(ErpRecord):
    business_partner: str
    name: str = ""
    customer: str = ""
    supplier: str = ""
    category: str = ""
    blocked: bool = False


T = TypeVar("T", bound=ErpRecord)


class DeltaPage(BaseModel, Generic[T]):
    """One delta read: what changed, what was deleted, and the token for next time.

    Reads are at-least-once: a record may come again in the next page; apply idempotently.
    """

    model_config = ConfigDict(frozen=True)

    records: list[T] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list, description="Keys of deleted records")
    delta_token: str = Field(description="Pass back as `since` to read what changed after this")


class DeliveryLine(ErpRecord):
    """One line of a delivery posted against a sales order item."""

    sales_order: str
    sales_order_item: str
    material: str
    quantity: Decimal = Field(gt=0)
    unit: str = "PC"


class GoodsReceiptLine(ErpRecord):
    """One line of a goods receipt against an item of our purchase order."""

    purchase_order: str
    purchase_order_item: str
    material: str
    plant: str
    quantity: Decimal = Field(gt=0)
    unit: str = "PC"


class SupplierInvoiceItem(ErpRecord):
    """One line of a supplier invoice, posted against an item of our purchase order."""

    purchase_order: str
    purchase_order_item: str
    quantity: Decimal = Field(gt=0)
    unit: str = "PC"
    amount: Decimal | None = Field(None, description="Net amount billed for the item")


class PostedSupplierInvoice(ErpRecord):
    """A supplier invoice in the ERP, with the purchase order items it was posted against."""

    supplier_invoice: str
    supplier: str
    reference: str = Field(description="The supplier's own invoice number")
    gross_amount: Decimal
    currency: str = ""
    items: list[SupplierInvoiceItem] = Field(default_factory=list)


class IdocReceipt(ErpRecord):
    """The ERP's status record for an IDoc we posted (53 posted, 51 not posted)."""

    docnum: str
    message_type: str
    status: str
    status_text: str = ""
    applied: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def posted(self) -> bool:
        return self.status == "53"
