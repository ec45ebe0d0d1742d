"""Plain records reconciliation compares, and what it reports.

Quantities are per material (``Decimal``), because a sales order's items are the ERP's
materials while a customer's order speaks of its own item numbers: the runner maps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = ["KINDS", "ErpDelivery", "ErpOrder", "ErpPartnerDocument", "ErpPosting", "HubOrder", "Mismatch",
           "Report", "SentEdi", "SupplierDocument"]

#: Every kind of difference, with the severity of the case it opens.
KINDS: dict[str, str] = {
    "missing_sales_order": "high",  # an accepted order the ERP does not have
    "duplicate_sales_order": "high",  # the ERP holds two or more orders for one customer PO
    "orphan_sales_order": "medium",  # an ERP order for our customer that the hub never received
    "quantity_mismatch": "medium",  # the ERP order's quantities differ from the customer's order
    "amount_mismatch": "medium",  # same quantities, but the ERP order's values differ (quantity x price)
    "delivery_not_billed": "medium",  # shipped but never invoiced
    "supplier_receipt_not_posted": "high",  # a supplier's 856 with no goods receipt in the ERP
    "supplier_invoice_not_posted": "high",  # a supplier's 810 with no supplier invoice in the ERP
    "supplier_invoice_mismatch": "high",  # posted, but for another amount or purchase order
    "partner_document_missing": "high",  # an ERP confirmation, delivery or billing with no 855/856/810
    "partner_document_unsent": "high",  # its 855/856/810 is queued or failed past the send window
    "partner_document_unacknowledged": "medium",  # sent, no 997/CONTRL by the time it was due
    "partner_document_rejected": "high",  # the partner's 997/CONTRL rejected it
    "invoice_amount_mismatch": "high",  # the 810's amounts differ from the ERP billing document's
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
    amounts: Mapping[str, Decimal] = field(default_factory=dict)  # per material, where every line has a price


@dataclass(frozen=True, slots=True)
class ErpOrder:
    """A sales order as the ERP holds it."""

    sales_order: str
    sold_to: str
    customer_po: str
    quantities: Mapping[str, Decimal]
    order_date: date | None = None
    amounts: Mapping[str, Decimal] = field(default_factory=dict)  # net value per material


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
class ErpPartnerDocument:
    """A confirmation, delivery or billing document in the ERP that the customer gets as EDI."""

    document_type: str  # order_acknowledgment (855) | ship_notice (856) | invoice (810)
    number: str  # the ERP's: sales order, delivery or billing document
    partner_id: str
    customer_po: str
    business_key: str  # the customer's order in the hub
    document_id: int  # the hub's order document
    amount: Decimal | None = None  # a billing document's net amount
    by_order: bool = False  # the partner's profile answers this set itself: any of the order's counts


@dataclass(frozen=True, slots=True)
class SentEdi:
    """An 855/856/810 the hub queued for a partner, and what became of it."""

    outbound_id: int
    document_id: int | None  # the hub's outbound document
    partner_id: str
    document_type: str
    set_id: str
    po_number: str | None
    erp_number: str | None  # the ERP document it was made from
    status: str  # queued | sent | failed
    ack_status: str  # pending | accepted | rejected | not_expected
    created_at: datetime
    ack_due_at: datetime | None = None
    lines_amount: Decimal | None = None  # an 810: the sum of quantity x price over its lines
    stated_amount: Decimal | None = None  # an 810: the lines amount its totals state


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
