"""The canonical documents: the contract between connectors and pipelines.

Each has a ``document_type`` tag and a deterministic ``idempotency_key`` computed from
(document type, sender, business id, revision) — so the same order arriving by EDI and
by a web shop is one order, while a change (a higher revision) is a new version of it.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, computed_field, model_validator

from canonical.common import (
    Address,
    Amount,
    CanonicalModel,
    Currency,
    ItemIdentifiers,
    Party,
    Reference,
    UnitOfMeasure,
)

__all__ = [
    "AckLine",
    "AckLineStatus",
    "AckStatus",
    "AllowanceCharge",
    "CanonicalDocument",
    "DocumentJSON",
    "Invoice",
    "InvoiceLine",
    "InvoiceTotals",
    "OrderAcknowledgment",
    "OrderLine",
    "OrderPurpose",
    "Pack",
    "PaymentTerms",
    "PurchaseOrder",
    "ShipNotice",
    "ShipNoticeOrder",
    "ShipmentEvent",
    "ShipmentStatus",
    "ShippedItem",
    "Tax",
    "make_idempotency_key",
]

PositiveQty = Annotated[Amount, Field(gt=0)]
NonNegativeAmount = Annotated[Amount, Field(ge=0)]


def make_idempotency_key(document_type: str, sender: str, business_id: str, revision: int | str) -> str:
    """sha256 over the four parts, unambiguous (length-prefixed), case of ids kept.

    Usage:
        >>> make_idempotency_key("purchase_order", "ACME", "PO-1", 0)[:12]
        '44412f5ea4e3'
    """
    h = hashlib.sha256()
    for part in (document_type, sender.strip(), business_id.strip(), str(revision)):
        raw = part.encode()
        h.update(len(raw).to_bytes(4, "big"))
        h.update(raw)
    return h.hexdigest()


class DocumentJSON(str):
    """A canonical document's JSON text as pydantic wrote it (``model_dump_json``, in Rust).

    The hub's engines store it in a JSON column as it is (``hub.storage.db``) instead of
    dumping a dict of the document again: a 20-line order's dict and ``json.dumps`` cost
    about four times pydantic's own writer, once per column that keeps the document.
    """

    __slots__ = ()


class CanonicalDocument(CanonicalModel, ABC):
    """Base of every canonical document."""

    document_type: str

    @model_validator(mode="before")
    @classmethod
    def _drop_computed_key(cls, data: Any) -> Any:
        # Our own JSON output carries the computed key; reading it back must not fail.
        if isinstance(data, dict) and "idempotency_key" in data:
            data = {k: v for k, v in data.items() if k != "idempotency_key"}
        return data

    @abstractmethod
    def key_parts(self) -> tuple[str, str, int | str]:
        """(sender, business id, revision) for the idempotency key."""

    @computed_field(description="sha256 of (document type, sender, business id, revision)")  # type: ignore[prop-decorator]
    @property
    def idempotency_key(self) -> str:
        sender, business_id, revision = self.key_parts()
        return make_idempotency_key(self.document_type, sender, business_id, revision)

    @property
    def business_key(self) -> str:
        """Human-readable business identity, e.g. ``ACME/PO-1001`` (no revision)."""
        sender, business_id, _ = self.key_parts()
        return f"{sender}/{business_id}"

    @property
    def revision_of(self) -> int | str:
        return self.key_parts()[2]


def _change_part(po_number: str, revision: int, change_number: str | None) -> int | str:
    """The revision part of an order's (or its acknowledgment's) idempotency key.

    A change request named by its own number that does not say its revision (an EDIFACT
    ORDCHG's BGM 1004 other than ``<po>-<revision>``) reads as revision 1, like every other such
    change of the order: its number tells them apart, so a second change is not taken for a
    resend of the first. Without such a number the part is the revision alone.
    """
    if change_number is None or change_number == f"{po_number}-{revision}":
        return revision
    return f"{revision}/{change_number}"


def _unique_line_numbers(lines: list[ItemIdentifiers], what: str) -> None:
    numbers = [getattr(line, "line_number", None) for line in lines]
    if len(set(numbers)) == len(numbers):
        return  # the common case; the loop below names the first repeat
    seen: set[str | None] = set()
    for i, line in enumerate(lines):
        number: str | None = getattr(line, "line_number", None)
        if number in seen:
            raise ValueError(f"{what}[{i}].line_number {number!r} appears twice")
        seen.add(number)


# ----------------------------------------------------------------------------- orders


class OrderPurpose(StrEnum):
    NEW = "new"
    CHANGE = "change"
    CANCEL = "cancel"


class OrderLine(ItemIdentifiers):
    line_number: str = Field(min_length=1, max_length=20, description="Buyer's line number (X12 PO101, EDIFACT LIN 1082)")
    description: str | None = None
    quantity: PositiveQty = Field(description="Ordered quantity, greater than zero")
    uom: UnitOfMeasure = "EA"
    unit_price: NonNegativeAmount | None = Field(None, description="Price per `uom`, in the order's currency")
    requested_delivery_date: date | None = None
    change: Literal["add", "change", "delete"] | None = Field(
        None, description="What a change (purpose `change`) does to this line: adds it, changes it or deletes it "
        "(X12 860 POC02: AI add, DI delete, any other code change; EDIFACT ORDCHG LIN 1229: 1 add, 2 delete, "
        "3 change). None on an original order, where it means nothing")

    @model_validator(mode="after")
    def _names_an_item(self) -> OrderLine:
        if not (self.buyer_item or self.vendor_item or self.gtin):
            raise ValueError("a line needs at least one of buyer_item, vendor_item or gtin")
        return self


class PurchaseOrder(CanonicalDocument):
    """A customer's order to us, or ours to a supplier (X12 850/860, EDIFACT ORDERS/ORDCHG)."""

    document_type: Literal["purchase_order"] = "purchase_order"
    po_number: str = Field(min_length=1, max_length=35)
    purpose: OrderPurpose = OrderPurpose.NEW
    revision: int = Field(0, ge=0, description="0 for the original; each change or cancel counts up")
    order_date: date
    requested_delivery_date: date | None = None
    currency: Currency = "USD"
    buyer: Party
    seller: Party | None = None
    ship_to: Party | None = None
    bill_to: Party | None = None
    references: list[Reference] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    lines: list[OrderLine] = Field(default_factory=list)
    change_number: str | None = Field(
        None, min_length=1, max_length=35,
        description="A change request's own number where it does not say the revision (EDIFACT ORDCHG BGM 1004 "
        "other than `<po>-<revision>`): echoed in the answer (ORDRSP RFF+CR), and part of the idempotency key, so "
        "two such changes of one order are two documents. None on an original order, and on a change whose number "
        "is `<po>-<revision>`")

    @model_validator(mode="after")
    def _lines(self) -> PurchaseOrder:
        if self.purpose is not OrderPurpose.CANCEL and not self.lines:
            raise ValueError("an order needs at least one line (only a cancel may have none)")
        _unique_line_numbers(list(self.lines), "lines")
        return self

    def key_parts(self) -> tuple[str, str, int | str]:
        return (self.buyer.id, self.po_number, _change_part(self.po_number, self.revision, self.change_number))

    @property
    def revision_of(self) -> int | str:
        return self.revision

    def total_amount(self) -> Amount:
        return sum(((ln.unit_price or 0) * ln.quantity for ln in self.lines), Amount(0))


# ------------------------------------------------------------------ acknowledgments


class AckStatus(StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_WITH_CHANGES = "accepted_with_changes"
    REJECTED = "rejected"


class AckLineStatus(StrEnum):
    ACCEPTED = "accepted"
    CHANGED = "changed"
    BACKORDERED = "backordered"
    REJECTED = "rejected"


class AckLine(ItemIdentifiers):
    line_number: str = Field(min_length=1, max_length=20)
    status: AckLineStatus
    ordered_quantity: Amount | None = None
    quantity: Amount = Field(ge=0, description="Quantity confirmed (0 when rejected)")
    uom: UnitOfMeasure = "EA"
    unit_price: NonNegativeAmount | None = None
    scheduled_date: date | None = Field(None, description="When the confirmed quantity ships or arrives")


class OrderAcknowledgment(CanonicalDocument):
    """The seller's answer to an order (X12 855, EDIFACT ORDRSP)."""

    document_type: Literal["order_acknowledgment"] = "order_acknowledgment"
    po_number: str = Field(min_length=1, max_length=35)
    po_date: date | None = None
    ack_number: str | None = None
    ack_date: date
    status: AckStatus
    revision: int = Field(0, ge=0)
    currency: Currency = "USD"
    buyer: Party
    seller: Party
    lines: list[AckLine] = Field(default_factory=list)
    change_number: str | None = Field(
        None, min_length=1, max_length=35,
        description="The change request this answers, by the number the buyer gave it, where that number does not "
        "say the revision (see PurchaseOrder.change_number); written as ORDRSP RFF+CR")

    @model_validator(mode="after")
    def _lines(self) -> OrderAcknowledgment:
        _unique_line_numbers(list(self.lines), "lines")
        return self

    def key_parts(self) -> tuple[str, str, int | str]:
        return (self.seller.id, f"{self.buyer.id}/{self.po_number}",
                _change_part(self.po_number, self.revision, self.change_number))

    @property
    def revision_of(self) -> int | str:
        return self.revision


# -------------------------------------------------------------------- ship notices


class ShippedItem(ItemIdentifiers):
    line_number: str | None = Field(None, description="The order line this item ships against")
    description: str | None = None
    quantity: Amount = Field(gt=0)
    uom: UnitOfMeasure = "EA"


class Pack(CanonicalModel):
    sscc: str | None = Field(None, pattern=r"^\d{18}$", description="GS1 SSCC-18 of the pallet or carton")
    items: list[ShippedItem] = Field(min_length=1)


class ShipNoticeOrder(CanonicalModel):
    po_number: str = Field(min_length=1, max_length=35)
    packs: list[Pack] = Field(min_length=1)


class ShipNotice(CanonicalDocument):
    """Shipment → order → pack (SSCC) → item (X12 856, EDIFACT DESADV)."""

    document_type: Literal["ship_notice"] = "ship_notice"
    shipment_id: str = Field(min_length=1, max_length=35, description="X12 BSN02, EDIFACT BGM 1004")
    revision: int = Field(0, ge=0)
    ship_date: date
    estimated_delivery_date: date | None = None
    carrier_scac: str | None = Field(None, pattern=r"^[A-Z]{2,4}$", description="Standard Carrier Alpha Code")
    carrier_name: str | None = None
    tracking_number: str | None = None
    seller: Party = Field(description="Who ships")
    buyer: Party | None = None
    ship_from: Party | None = None
    ship_to: Party | None = None
    orders: list[ShipNoticeOrder] = Field(min_length=1)

    def key_parts(self) -> tuple[str, str, int | str]:
        return (self.seller.id, self.shipment_id, self.revision)

    def shipped_quantities(self) -> dict[tuple[str, str | None], Amount]:
        """(po_number, line_number) → quantity shipped, summed over packs."""
        out: dict[tuple[str, str | None], Amount] = {}
        for order in self.orders:
            for pack in order.packs:
                for item in pack.items:
                    k = (order.po_number, item.line_number)
                    out[k] = out.get(k, Amount(0)) + item.quantity
        return out


# ---------------------------------------------------------------- shipment status


class ShipmentEvent(CanonicalModel):
    code: Literal[
        "label_created", "picked_up", "in_transit", "out_for_delivery", "delivered",
        "delayed", "exception", "returned", "cancelled",
    ]
    carrier_code: str | None = Field(None, description="The carrier's own status code")
    description: str | None = None
    occurred_at: datetime
    location: Address | None = None


class ShipmentStatus(CanonicalDocument):
    """Carrier tracking events for one shipment (X12 214, carrier APIs)."""

    document_type: Literal["shipment_status"] = "shipment_status"
    carrier_scac: str = Field(pattern=r"^[A-Z]{2,4}$")
    tracking_number: str = Field(min_length=1)
    shipment_id: str | None = None
    po_numbers: list[str] = Field(default_factory=list)
    events: list[ShipmentEvent] = Field(min_length=1)

    def key_parts(self) -> tuple[str, str, int | str]:
        latest = max(self.events, key=lambda e: e.occurred_at)
        return (self.carrier_scac, self.tracking_number, f"{latest.occurred_at.isoformat()}/{latest.code}")

    @property
    def latest(self) -> ShipmentEvent:
        return max(self.events, key=lambda e: e.occurred_at)


# ------------------------------------------------------------------------ invoices


class InvoiceLine(ItemIdentifiers):
    line_number: str = Field(min_length=1, max_length=20)
    po_line_number: str | None = None
    description: str | None = None
    quantity: Amount = Field(gt=0)
    uom: UnitOfMeasure = "EA"
    unit_price: NonNegativeAmount
    amount: Amount | None = Field(None, description="Line amount as billed; quantity × unit price when absent")

    def billed_amount(self) -> Amount:
        return self.amount if self.amount is not None else self.quantity * self.unit_price


class Tax(CanonicalModel):
    type: str = Field(description="e.g. VAT, GST, sales tax (X12 TXI01, EDIFACT TAX 5153)")
    rate: Amount | None = Field(None, description="Percent")
    amount: Amount


class AllowanceCharge(CanonicalModel):
    indicator: Literal["allowance", "charge"]
    code: str | None = Field(None, description="X12 SAC02 / EDIFACT ALC 7161")
    description: str | None = None
    amount: NonNegativeAmount


class PaymentTerms(CanonicalModel):
    description: str | None = None
    net_days: int | None = Field(None, ge=0)
    discount_percent: Amount | None = None
    discount_days: int | None = Field(None, ge=0)
    due_date: date | None = None


class InvoiceTotals(CanonicalModel):
    lines_amount: Amount | None = None
    tax_amount: Amount | None = None
    allowances_amount: Amount | None = None
    charges_amount: Amount | None = None
    total_amount: Amount


class Invoice(CanonicalDocument):
    """A bill for goods shipped (X12 810, EDIFACT INVOIC)."""

    document_type: Literal["invoice"] = "invoice"
    invoice_number: str = Field(min_length=1, max_length=35)
    invoice_date: date
    revision: int = Field(0, ge=0)
    po_number: str | None = None
    shipment_id: str | None = None
    currency: Currency = "USD"
    seller: Party
    buyer: Party
    remit_to: Party | None = None
    ship_to: Party | None = None
    lines: list[InvoiceLine] = Field(min_length=1)
    taxes: list[Tax] = Field(default_factory=list)
    allowances_charges: list[AllowanceCharge] = Field(default_factory=list)
    terms: PaymentTerms | None = None
    totals: InvoiceTotals

    @model_validator(mode="after")
    def _lines(self) -> Invoice:
        _unique_line_numbers(list(self.lines), "lines")
        return self

    def key_parts(self) -> tuple[str, str, int | str]:
        return (self.seller.id, self.invoice_number, self.revision)

    def computed_total(self) -> Amount:
        """What the total should be from lines, taxes, allowances and charges."""
        total = sum((ln.billed_amount() for ln in self.lines), Amount(0))
        total += sum((t.amount for t in self.taxes), Amount(0))
        for ac in self.allowances_charges:
            total += ac.amount if ac.indicator == "charge" else -ac.amount
        return total
