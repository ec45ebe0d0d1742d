"""Helpers the detectors share: matching lines across documents, units, percentages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from pipelines.refdata import UnknownUnit, convert

if TYPE_CHECKING:
    from canonical.common import ItemIdentifiers
    from canonical.documents import OrderLine, PurchaseOrder
    from pipelines.refdata import Item, PriceListEntry, ReferenceData

__all__ = [
    "CENT",
    "ContractPrice",
    "contract_price",
    "find_item",
    "margin_per_unit",
    "money",
    "order_line",
    "percent_difference",
    "same_item",
    "to_uom",
]

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def percent_difference(actual: Decimal, expected: Decimal) -> Decimal:
    """(actual - expected) / expected in percent, two decimals; 100 when expected is zero."""
    if expected == 0:
        return Decimal(0) if actual == 0 else Decimal(100)
    return ((actual - expected) * 100 / expected).quantize(CENT)


def find_item(refdata: ReferenceData, line: ItemIdentifiers, partner_id: str | None) -> Item | None:
    return refdata.find_item(gtin=line.gtin, vendor_item=line.vendor_item,
                             buyer_item=line.buyer_item, partner_id=partner_id)


def same_item(a: ItemIdentifiers, b: ItemIdentifiers, *, refdata: ReferenceData | None = None,
              partner_id: str | None = None) -> bool | None:
    """True/False when the identifiers decide; ``None`` when they share no kind of identifier.

    An identifier both lines carry decides (GTIN first); the item master decides when the
    lines name the item in different ways.
    """
    for kind in ("gtin", "vendor_item", "buyer_item"):
        x, y = getattr(a, kind), getattr(b, kind)
        if x and y:
            return bool(x == y)
    if refdata is not None:
        ia, ib = find_item(refdata, a, partner_id), find_item(refdata, b, partner_id)
        if ia and ib:
            return ia.item_number == ib.item_number
    return None


def order_line(po: PurchaseOrder, line_number: str | None) -> OrderLine | None:
    return next((ln for ln in po.lines if ln.line_number == line_number), None) if line_number else None


def to_uom(quantity: Decimal, from_uom: str, to_uom_: str, item: Item | None) -> Decimal | None:
    """``quantity`` in ``to_uom_``; ``None`` when the units cannot be converted."""
    try:
        return convert(quantity, from_uom, to_uom_, item)
    except UnknownUnit:
        return None


@dataclass(frozen=True, slots=True)
class ContractPrice:
    entry: PriceListEntry
    price: Decimal  # per the line's unit (converted when the list prices another unit)


def contract_price(refdata: ReferenceData, price_list_id: str, item: Item, uom: str, on: date,
                   currency: str) -> ContractPrice | None:
    """The contract price for ``item`` per ``uom``: the list's entry in that unit, else its
    entry in the item's base unit times the conversion. ``None`` when the list has no price
    or prices in another currency (amounts in two currencies are not compared)."""
    entry = refdata.price(price_list_id, item.item_number, uom, on)
    if entry is not None:
        return ContractPrice(entry, entry.price) if entry.currency == currency else None
    base = refdata.price(price_list_id, item.item_number, item.base_uom, on)
    factor = item.factor(uom)
    if base is None or factor is None or base.currency != currency:
        return None
    return ContractPrice(base, base.price * factor)


def margin_per_unit(item: Item, uom: str, price: Decimal) -> Decimal | None:
    """Price minus standard cost for one ``uom``; ``None`` without a cost or a conversion."""
    factor = item.factor(uom)
    if item.standard_cost is None or factor is None:
        return None
    return price - item.standard_cost * factor
