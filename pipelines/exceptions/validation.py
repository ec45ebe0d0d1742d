"""Validation rules over reference data.

Findings fall into three kinds, told apart by ``Finding.code``:

* **data errors** (``quantity_not_positive``, ``date_in_past``): the document is wrong; the
  runner raises ``ValidationFailed`` (``ValidationReport.raise_for_data_errors``) and the
  partner must resend it;
* **master-data gaps** (``unknown_item``, ``unknown_unit``, ``unknown_ship_to``,
  ``unknown_customer``): the document may be right but our masters lack something; a
  business exception for the master-data queue;
* **business findings** (``price_discrepancy`` beyond the contract tolerance, ``credit_hold``).

Usage:
    report = validate_document(po, refdata, today=date.today())
    report.raise_for_data_errors()
    cases = report.detections()
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from canonical.documents import Invoice, OrderAcknowledgment, PurchaseOrder, ShipNotice
from canonical.errors import Finding, ValidationFailed
from pipelines.exceptions.detectors.common import contract_price, find_item, percent_difference
from pipelines.exceptions.model import Detection, describe, detection
from pipelines.exceptions.taxonomy import Owner, exception_type

if TYPE_CHECKING:
    from canonical.common import ItemIdentifiers
    from canonical.documents import AckLine, CanonicalDocument, InvoiceLine, OrderLine
    from pipelines.refdata import ReferenceData

__all__ = ["DATA_ERROR_CODES", "ValidationReport", "validate_document"]

DATA_ERROR_CODES = frozenset({"quantity_not_positive", "date_in_past"})
_BUSINESS_CODES = frozenset({"price_discrepancy", "credit_hold"})


@dataclass(frozen=True, slots=True)
class ValidationReport:
    document: str
    partner: str
    findings: tuple[Finding, ...]

    @property
    def data_errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.code in DATA_ERROR_CODES)

    @property
    def master_data_gaps(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.code not in DATA_ERROR_CODES | _BUSINESS_CODES
                     and exception_type(f.code).owner is Owner.MASTER_DATA)

    @property
    def business_findings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.code in _BUSINESS_CODES)

    def raise_for_data_errors(self) -> None:
        if self.data_errors:
            raise ValidationFailed(f"{self.document} breaks {len(self.data_errors)} rule(s)",
                                   code="validation.refdata", partner=self.partner,
                                   document=self.document, findings=self.data_errors)

    def detections(self) -> list[Detection]:
        """Master-data gaps and business findings as detections for the case queue."""
        return [detection(f.code, self.document, f.message, path=f.path, partner=self.partner,
                          evidence={"value": f.value} if f.value is not None else {})
                for f in (*self.master_data_gaps, *self.business_findings)]


def _lines(doc: CanonicalDocument) -> Iterator[tuple[str, ItemIdentifiers, Decimal, str]]:
    """(path, line, quantity, unit) for every line that names an item."""
    if isinstance(doc, PurchaseOrder | OrderAcknowledgment | Invoice):
        lines: Sequence[OrderLine | AckLine | InvoiceLine] = doc.lines
        for i, ln in enumerate(lines):
            yield f"lines[{i}]", ln, ln.quantity, ln.uom
    elif isinstance(doc, ShipNotice):
        for o, order in enumerate(doc.orders):
            for p, pack in enumerate(order.packs):
                for k, it in enumerate(pack.items):
                    yield f"orders[{o}].packs[{p}].items[{k}]", it, it.quantity, it.uom


def _partner(doc: CanonicalDocument) -> str:
    return doc.buyer.id if isinstance(doc, PurchaseOrder) else doc.key_parts()[0]


def _item_field(line: ItemIdentifiers) -> tuple[str, str | None]:
    name = "gtin" if line.gtin else "vendor_item" if line.vendor_item else "buyer_item"
    return name, getattr(line, name)


def _line_findings(doc: CanonicalDocument, refdata: ReferenceData, partner: str) -> Iterator[Finding]:
    for path, line, quantity, uom in _lines(doc):
        allow_zero = isinstance(doc, OrderAcknowledgment)  # a rejected line confirms 0
        if quantity < 0 or (quantity == 0 and not allow_zero):
            yield Finding(f"{path}.quantity", f"quantity {quantity} must be positive",
                          "quantity_not_positive", value=str(quantity))
        item = find_item(refdata, line, partner)
        if item is None:
            name, value = _item_field(line)
            yield Finding(f"{path}.{name}", f"item {value} is not in the item master (partner {partner})",
                          "unknown_item", value=value)
        elif item.factor(uom) is None:
            known = "a known unit, but " if refdata.known_unit(uom) else ""
            yield Finding(f"{path}.uom", f"{uom} is {known}not a unit of item {item.item_number} "
                          f"(its units: {', '.join(item.units)})", "unknown_unit", value=uom)


def _order_findings(po: PurchaseOrder, refdata: ReferenceData, today: date) -> Iterator[Finding]:
    dates = [("requested_delivery_date", po.requested_delivery_date)]
    dates += [(f"lines[{i}].requested_delivery_date", ln.requested_delivery_date) for i, ln in enumerate(po.lines)]
    for path, day in dates:
        if day is not None and day < today:
            yield Finding(path, f"requested date {day} is before today {today}", "date_in_past", value=str(day))
    customer = refdata.customer(po.buyer.id)
    if customer is None:
        yield Finding("buyer.id", f"customer {po.buyer.id} is not in the customer master",
                      "unknown_customer", value=po.buyer.id)
        return
    if po.ship_to is not None and customer.ship_to(po.ship_to.id) is None:
        yield Finding("ship_to.id", f"ship-to {po.ship_to.id} is not a location of customer {customer.id}",
                      "unknown_ship_to", value=po.ship_to.id)
    if customer.credit_status == "hold":
        yield Finding("buyer.id", f"customer {customer.id} is on credit hold", "credit_hold", value=customer.id)
    for i, ln in enumerate(po.lines):
        item = find_item(refdata, ln, po.buyer.id)
        if item is None or ln.unit_price is None or customer.price_list_id is None:
            continue
        agreed = contract_price(refdata, customer.price_list_id, item, ln.uom, po.order_date, po.currency)
        if agreed is None:
            continue
        diff = percent_difference(ln.unit_price, agreed.price)
        if abs(diff) > agreed.entry.tolerance_percent:
            yield Finding(f"lines[{i}].unit_price",
                          f"price {ln.unit_price} is {diff:+}% from contract {agreed.price} "
                          f"(tolerance {agreed.entry.tolerance_percent}%)", "price_discrepancy",
                          value=str(ln.unit_price))


def validate_document(document: CanonicalDocument, refdata: ReferenceData, *, today: date) -> ValidationReport:
    """Check a canonical document against reference data; every finding names line and field.

    Usage:
        report = validate_document(po, refdata, today=date(2026, 11, 23))
        [f.path for f in report.master_data_gaps]   # e.g. ['lines[2].vendor_item']
    """
    partner = _partner(document)
    findings = list(_line_findings(document, refdata, partner))
    if isinstance(document, PurchaseOrder):
        findings += _order_findings(document, refdata, today)
    return ValidationReport(describe(document), partner, tuple(findings))
