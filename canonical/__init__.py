"""Canonical documents: the contract between connectors and pipelines.

Usage:
    >>> from canonical import PurchaseOrder
    >>> po = PurchaseOrder.model_validate({"po_number": "PO-1", "order_date": "2026-11-23",
    ...     "buyer": {"id": "ACME"}, "lines": [{"line_number": "1", "vendor_item": "W-1", "quantity": 5}]})
    >>> po.business_key
    'ACME/PO-1'
"""

from canonical.common import Address, ItemIdentifiers, Money, Party, Quantity, Reference
from canonical.documents import (
    AckLine,
    AckLineStatus,
    AckStatus,
    AllowanceCharge,
    CanonicalDocument,
    Invoice,
    InvoiceLine,
    InvoiceTotals,
    OrderAcknowledgment,
    OrderLine,
    OrderPurpose,
    Pack,
    PaymentTerms,
    PurchaseOrder,
    ShipmentEvent,
    ShipmentStatus,
    ShipNotice,
    ShipNoticeOrder,
    ShippedItem,
    Tax,
    make_idempotency_key,
)
from canonical.registry import DOCUMENT_TYPES, export_schemas, model_for, schema_for

__all__ = [
    "DOCUMENT_TYPES",
    "AckLine",
    "AckLineStatus",
    "AckStatus",
    "Address",
    "AllowanceCharge",
    "CanonicalDocument",
    "Invoice",
    "InvoiceLine",
    "InvoiceTotals",
    "ItemIdentifiers",
    "Money",
    "OrderAcknowledgment",
    "OrderLine",
    "OrderPurpose",
    "Pack",
    "Party",
    "PaymentTerms",
    "PurchaseOrder",
    "Quantity",
    "Reference",
    "ShipNotice",
    "ShipNoticeOrder",
    "ShipmentEvent",
    "ShipmentStatus",
    "ShippedItem",
    "Tax",
    "export_schemas",
    "make_idempotency_key",
    "model_for",
    "schema_for",
]
