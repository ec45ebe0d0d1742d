"""ERP gateways: what Crossdock asks of an ERP (:class:`ErpGateway`) and S/4HANA's answer.

Usage:
    >>> from connectors.erp import SapS4Config, SapS4Gateway
    >>> config = SapS4Config(base_url="http://127.0.0.1:8000", auth="none")
"""

from connectors.erp.base import ErpGateway
from connectors.erp.models import (
    BillingDocument,
    BillingItem,
    BusinessPartner,
    Delivery,
    DeliveryItem,
    DeliveryLine,
    DeltaPage,
    EnsureResult,
    ErpPurchaseOrder,
    ErpPurchaseOrderItem,
    GoodsReceiptLine,
    IdocReceipt,
    PostedSupplierInvoice,
    Product,
    SalesOrder,
    SalesOrderItem,
    SalesOrderItemChange,
    SupplierInvoiceItem,
)
from connectors.erp.sap_config import SapS4Config
from connectors.erp.sap_http import WriteInDoubt
from connectors.erp.sap_s4 import SapS4Gateway

__all__ = [
    "BillingDocument",
    "BillingItem",
    "BusinessPartner",
    "Delivery",
    "DeliveryItem",
    "DeliveryLine",
    "DeltaPage",
    "EnsureResult",
    "ErpGateway",
    "ErpPurchaseOrder",
    "ErpPurchaseOrderItem",
    "GoodsReceiptLine",
    "IdocReceipt",
    "PostedSupplierInvoice",
    "Product",
    "SalesOrder",
    "SalesOrderItem",
    "SalesOrderItemChange",
    "SapS4Config",
    "SapS4Gateway",
    "SupplierInvoiceItem",
    "WriteInDoubt",
]
