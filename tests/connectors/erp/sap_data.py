"""Test data for the ERP gateway tests: a customer, its materials, and a purchase order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from canonical.documents import PurchaseOrder

__all__ = ["MATERIALS", "SOLD_TO", "make_po"]

SOLD_TO = "1000001"
MATERIALS = {"1": "TG11", "2": "TG12"}


def make_po(po_number: str = "PO-CD-1001", **changes: Any) -> PurchaseOrder:
    data: dict[str, Any] = {
        "po_number": po_number, "order_date": date(2026, 11, 20), "currency": "EUR",
        "buyer": {"id": "ACME"},
        "lines": [
            {"line_number": "1", "vendor_item": "TG11", "quantity": Decimal("3"),
             "uom": "EA", "unit_price": Decimal("999.00")},
            {"line_number": "2", "vendor_item": "TG12", "quantity": Decimal("5"),
             "uom": "EA", "unit_price": Decimal("450.50")},
        ],
    }
    data.update(changes)
    return PurchaseOrder.model_validate(data)
