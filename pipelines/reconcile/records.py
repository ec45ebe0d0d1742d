"""Plain records reconciliation compares, and what it reports.

Quantities are per material (``Decimal``), because a sales order's items are the ERP's
materials while a customer's order speaks of its own item numbers: the runner maps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = ["KINDS", "ErpDelivery", "ErpOrder", "ErpPosting", "HubOrder", "Mismatch", "Report",
           "SupplierDocument"]

#: Every kind of difference, with the severity of the case it opens.
KINDS: dict[str, str] = {
    "missing_sales_order": "high",  # an accepted order the ERP does not have
    "duplicate_sales_order": "high",  # the ERP holds two or more orders for one customer PO
    "orphan_sales_order": "medium",  # an ERP order for our customer that the hub never received
    "quantity_mismatch": "medium",  # the ERP order's quantities differ from the customer's order
    "delivery_not_billed": "medium",  # shipped but never invoiced
    "supplier_receipt_not_posted": "high",  # a supplier's 856 with no goods receipt in the ERP
    "supplier_invoice_not_posted": "high",  # a supplier's 810 with no supplier invoice in the ERP
    "supplier_invoice_mismatch": "high",  # posted, but for another amount or purchase order
}


@dataclass(frozen=True, slots=True)
class HubOrder:
    """A customer order the hub accepted (its latest revision) and should find in the ERP."""

    document_id: int
    partner_id: str
    business_key: str
    customer_po: str
    sold_to: str
    quantities: Mapping[str, Decimal]
    erp_number: str | None = None
    pending: bool = False  # still in the outbox: not written yet, so not missing


@dataclass(frozen=True, slots=True)
class ErpOrder:
    """A sales order as the ERP holds it."""

    sales_order: str
    sold_to: str
    customer_po: str
    quantities: Mapping[str, Decimal]
    order_date: date | None = None


@dataclass(frozen=True, slots=True)
class ErpDelivery:
    """An outbound delivery and the sales orders its items ship against."""

    delivery: str
    sold_to: str
    sales_orders: frozenset[str]
    delivery_date: date | None = None


@dataclass(frozen=True, slots=True)
class SupplierDocument:
    """A supplier's 856 (``ship_notice``) or 810 (``invoice``) the hub accepted for our PO."""

    document_id: int
    partner_id: str
    business_key: str
    document_type: str
    number: str  # the shipment id or the supplier's invoice number
    purchase_orders: frozenset[str]
    amount: Decimal | None = None  # an invoice's total
    pending: bool = False  # its posting still waits in the outbox or already has a case


@dataclass(frozen=True, slots=True)
class ErpPosting:
    """What the ERP holds for a supplier document: a goods receipt or a supplier invoice."""

    number: str
    purchase_orders: frozenset[str] = frozenset()
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One difference: ``subject`` names it stably, so a second run finds the same one again."""

    kind: str
    subject: str
    summary: str
    partner_id: str | None = None
    document_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return KINDS[self.kind]


@dataclass(slots=True)
class Report:
    """What one check found: how much it looked at, how much agreed, and every difference."""

    job: str
    checked: int = 0
    matched: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def mismatched(self) -> int:
        return len(self.mismatches)

    def merge(self, other: Report) -> Report:
        return Report(f"{self.job}+{other.job}", self.checked + other.checked, self.matched + other.matched,
                      [*self.mismatches, *other.mismatches])
