"""Reference data: the items, units, customers, price lists and stock the pipeline checks against.

The hub owns the data (tables, ERP sync); the pipeline only sees it through the
``ReferenceData`` protocol, so detectors and validation rules stay pure. ``InMemoryReferenceData``
implements the protocol over a parsed ``ReferenceDataSet`` (the import preview, small
embedded installs, tests). ``parse_refdata_json`` and ``parse_refdata_csv`` read files for
``crossdock refdata import FILE``; every error names the row (or JSON path) and the column.

Usage:
    >>> data = parse_refdata_json(b'{"items": [{"item_number": "W-1", "base_uom": "EA",'
    ...     b' "conversions": [{"uom": "CA", "factor": "12"}]}]}')
    >>> ref = InMemoryReferenceData(data)
    >>> convert(Decimal("2"), "CA", "EA", ref.find_item(vendor_item="W-1"))
    Decimal('24')
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from canonical.common import gtin_is_valid
from canonical.errors import BusinessException, Finding, ValidationFailed

__all__ = [
    "CSV_KINDS",
    "Customer",
    "InMemoryReferenceData",
    "Item",
    "ItemCrossRef",
    "PriceListEntry",
    "ReferenceData",
    "ReferenceDataSet",
    "RefDataImportError",
    "ShipToLocation",
    "StockLevel",
    "UnitConversion",
    "UnknownUnit",
    "convert",
    "parse_refdata_csv",
    "parse_refdata_json",
]

CreditStatus = Literal["ok", "review", "hold"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class UnitConversion(_Model):
    """``factor`` base units make one ``uom`` (a case of 12: ``uom="CA", factor=12``)."""

    uom: str = Field(min_length=1, max_length=3)
    factor: Decimal = Field(gt=0, allow_inf_nan=False)

    @field_validator("uom")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()


class ItemCrossRef(_Model):
    """How one partner names one of our items."""

    partner_id: str = Field(min_length=1)
    item: str = Field(min_length=1)


class Item(_Model):
    item_number: str = Field(min_length=1, description="Our item number (what we send as vendor item)")
    description: str | None = None
    gtin: str | None = None
    base_uom: str = Field("EA", min_length=1, max_length=3)
    conversions: tuple[UnitConversion, ...] = ()
    buyer_refs: tuple[ItemCrossRef, ...] = Field((), description="Customers' item numbers")
    vendor_refs: tuple[ItemCrossRef, ...] = Field((), description="Suppliers' item numbers")
    standard_cost: Decimal | None = Field(None, ge=0, allow_inf_nan=False, description="Per base unit")

    @field_validator("gtin")
    @classmethod
    def _gtin(cls, v: str | None) -> str | None:
        if v is not None and not gtin_is_valid(v):
            raise ValueError(f"GTIN {v!r} has a wrong length or check digit")
        return v

    @field_validator("base_uom")
    @classmethod
    def _base_upper(cls, v: str) -> str:
        return v.upper()

    def factor(self, uom: str) -> Decimal | None:
        """Base units in one ``uom``; ``None`` when the item has no such unit."""
        uom = uom.strip().upper()
        if uom == self.base_uom:
            return Decimal(1)
        return next((c.factor for c in self.conversions if c.uom == uom), None)

    @property
    def units(self) -> tuple[str, ...]:
        return (self.base_uom, *(c.uom for c in self.conversions))


class ShipToLocation(_Model):
    id: str = Field(min_length=1)
    name: str | None = None
    warehouse: str | None = Field(None, description="Our warehouse that serves this location")


class Customer(_Model):
    id: str = Field(min_length=1, description="As the partner identifies itself (buyer party id)")
    name: str | None = None
    ship_tos: tuple[ShipToLocation, ...] = ()
    credit_status: CreditStatus = "ok"
    credit_limit: Decimal | None = Field(None, ge=0, allow_inf_nan=False)
    exposure: Decimal = Field(Decimal(0), allow_inf_nan=False, description="Open orders + receivables")
    priority_tier: int = Field(3, ge=1, le=4, description="1 = most important customer")
    price_list_id: str | None = None
    currency: str = "USD"

    def ship_to(self, location_id: str) -> ShipToLocation | None:
        return next((s for s in self.ship_tos if s.id == location_id), None)


class PriceListEntry(_Model):
    price_list_id: str = Field(min_length=1)
    item_number: str = Field(min_length=1)
    uom: str = Field("EA", min_length=1, max_length=3)
    price: Decimal = Field(ge=0, allow_inf_nan=False)
    currency: str = "USD"
    tolerance_percent: Decimal = Field(Decimal(0), ge=0, allow_inf_nan=False)
    valid_from: date | None = None
    valid_to: date | None = None

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to)


class StockLevel(_Model):
    """Stock of one item in one warehouse, in the item's base unit."""

    item_number: str = Field(min_length=1)
    warehouse: str = Field(min_length=1)
    on_hand: Decimal = Field(allow_inf_nan=False)
    allocated: Decimal = Field(Decimal(0), allow_inf_nan=False)
    available: Decimal | None = Field(None, allow_inf_nan=False, description="on_hand - allocated when absent")

    @property
    def available_quantity(self) -> Decimal:
        return self.available if self.available is not None else self.on_hand - self.allocated


class ReferenceDataSet(_Model):
    """Everything one import file may carry; any part may be empty."""

    units: tuple[str, ...] = Field((), description="Unit codes known to Crossdock beyond the items' own")
    items: tuple[Item, ...] = ()
    customers: tuple[Customer, ...] = ()
    price_lists: tuple[PriceListEntry, ...] = ()
    stock: tuple[StockLevel, ...] = ()


class ReferenceData(Protocol):
    """Lookups by the identifiers a canonical line carries. The hub implements this."""

    def find_item(self, *, gtin: str | None = None, vendor_item: str | None = None,
                  buyer_item: str | None = None, partner_id: str | None = None) -> Item | None: ...

    def known_unit(self, uom: str) -> bool: ...

    def customer(self, customer_id: str) -> Customer | None: ...

    def price(self, price_list_id: str, item_number: str, uom: str, on: date) -> PriceListEntry | None: ...

    def stock(self, item_number: str) -> Sequence[StockLevel]: ...


class InMemoryReferenceData:
    """``ReferenceData`` over a ``ReferenceDataSet`` held in memory."""

    def __init__(self, data: ReferenceDataSet) -> None:
        self.data = data
        self._by_number = {i.item_number: i for i in data.items}
        self._by_gtin = {i.gtin: i for i in data.items if i.gtin}
        self._buyer = {(r.partner_id, r.item): i for i in data.items for r in i.buyer_refs}
        self._vendor = {(r.partner_id, r.item): i for i in data.items for r in i.vendor_refs}
        self._units = {u.upper() for u in data.units} | {u for i in data.items for u in i.units}
        self._customers = {c.id: c for c in data.customers}

    def find_item(self, *, gtin: str | None = None, vendor_item: str | None = None,
                  buyer_item: str | None = None, partner_id: str | None = None) -> Item | None:
        if gtin and gtin in self._by_gtin:
            return self._by_gtin[gtin]
        if vendor_item:
            # A supplier's cross reference first: its numbers may collide with ours.
            hit = self._vendor.get((partner_id or "", vendor_item)) or self._by_number.get(vendor_item)
            if hit:
                return hit
        if buyer_item and partner_id:
            return self._buyer.get((partner_id, buyer_item))
        return None

    def known_unit(self, uom: str) -> bool:
        return uom.strip().upper() in self._units

    def customer(self, customer_id: str) -> Customer | None:
        return self._customers.get(customer_id)

    def price(self, price_list_id: str, item_number: str, uom: str, on: date) -> PriceListEntry | None:
        return next((p for p in self.data.price_lists if p.price_list_id == price_list_id
                     and p.item_number == item_number and p.uom.upper() == uom.upper()
                     and p.valid_on(on)), None)

    def stock(self, item_number: str) -> Sequence[StockLevel]:
        return [s for s in self.data.stock if s.item_number == item_number]


class UnknownUnit(BusinessException):
    """A unit the item (or Crossdock) does not know: a master-data gap, not a data error."""

    code = "unknown_unit"


def convert(quantity: Decimal, from_uom: str, to_uom: str, item: Item | None) -> Decimal:
    """``quantity`` in ``from_uom`` expressed in ``to_uom``, through the item's base unit.

    Usage:
        >>> it = Item(item_number="W-1", conversions=(UnitConversion(uom="CA", factor=Decimal(12)),))
        >>> convert(Decimal("36"), "EA", "CA", it)
        Decimal('3')
    """
    src, dst = from_uom.strip().upper(), to_uom.strip().upper()
    if src == dst:
        return quantity
    if item is None:
        raise UnknownUnit(f"cannot convert {src} to {dst} without an item master",
                          details={"from_uom": src, "to_uom": dst})
    factors = {u: item.factor(u) for u in (src, dst)}
    missing = [u for u, f in factors.items() if f is None]
    if missing:
        raise UnknownUnit(
            f"item {item.item_number} has no unit {', '.join(missing)} (known: {', '.join(item.units)})",
            details={"item_number": item.item_number, "unknown": missing, "known": list(item.units)})
    f_src, f_dst = factors[src], factors[dst]
    assert f_src is not None and f_dst is not None  # narrowed by ``missing`` above
    return quantity * f_src / f_dst


# ------------------------------------------------------------------------- loaders


class RefDataImportError(ValidationFailed):
    """An import file that cannot be read; ``findings`` name each row/path and column."""

    code = "refdata.invalid"


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_refdata_json(data: bytes) -> ReferenceDataSet:
    """Read a JSON object with any of ``units``, ``items``, ``customers``, ``price_lists``, ``stock``.

    Usage:
        >>> parse_refdata_json(b'{"units": ["EA", "CA"]}').units
        ('EA', 'CA')
    """
    try:
        raw = json.loads(data, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RefDataImportError("reference data is not valid JSON",
                                 findings=[Finding(path="", message=str(exc), code="json")]) from exc
    try:
        return ReferenceDataSet.model_validate(raw)
    except ValidationError as exc:
        raise RefDataImportError("reference data has invalid rows", findings=[
            Finding(path=_loc(tuple(e["loc"])), message=e["msg"], code=e["type"])
            for e in exc.errors()]) from exc


class _CellError(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


def _pairs(row: dict[str, str], column: str) -> list[tuple[str, str]]:
    """``"CA=12; PL=480"`` → ``[("CA", "12"), ("PL", "480")]``."""
    out = []
    for part in filter(None, (p.strip() for p in row.get(column, "").split(";"))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise _CellError(column, f"{part!r} is not KEY=VALUE")
        out.append((key.strip(), value.strip()))
    return out


def _item_row(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(row)
    out["conversions"] = [{"uom": k, "factor": v} for k, v in _pairs(row, "conversions")]
    for col in ("buyer_refs", "vendor_refs"):
        out[col] = [{"partner_id": k, "item": v} for k, v in _pairs(row, col)]
    return out


def _customer_row(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(row)
    out["ship_tos"] = [{"id": k, "warehouse": v} if v != "-" else {"id": k}
                       for k, v in _pairs(row, "ship_tos")]
    return out


CSV_KINDS: dict[str, tuple[type[_Model], tuple[str, ...]]] = {
    "items": (Item, ("item_number",)),
    "customers": (Customer, ("id",)),
    "price_lists": (PriceListEntry, ("price_list_id", "item_number", "price")),
    "stock": (StockLevel, ("item_number", "warehouse", "on_hand")),
}
_SHAPERS = {"items": _item_row, "customers": _customer_row}


def parse_refdata_csv(kind: str, data: bytes) -> ReferenceDataSet:
    """Read one CSV of ``kind`` (items, customers, price_lists, stock) with a header row.

    List columns hold ``KEY=VALUE`` pairs separated by ``;``: items ``conversions``
    (``CA=12;PL=480``), ``buyer_refs``/``vendor_refs`` (``ACME=AB-1``); customers
    ``ship_tos`` (``ST-1=WH-EAST;ST-2=-``). Empty cells are absent values.

    Usage:
        >>> parse_refdata_csv("stock", b"item_number,warehouse,on_hand\\nW-1,EAST,5\\n").stock[0].on_hand
        Decimal('5')
    """
    if kind not in CSV_KINDS:
        raise RefDataImportError(f"unknown reference data kind {kind!r} (known: {', '.join(CSV_KINDS)})")
    model, required = CSV_KINDS[kind]
    try:
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
        header = [h.strip() for h in reader.fieldnames or ()]
    except UnicodeDecodeError as exc:
        raise RefDataImportError(f"{kind} CSV is not UTF-8",
                                 findings=[Finding(path="", message=str(exc), code="encoding")]) from exc
    missing = [c for c in required if c not in header]
    if missing:
        raise RefDataImportError(f"{kind} CSV lacks required columns", findings=[
            Finding(path="row 1 (header)", message=f"missing column {c!r}", code="missing_column")
            for c in missing])
    rows: list[_Model] = []
    findings: list[Finding] = []
    for number, raw in enumerate(reader, start=2):  # row 1 is the header
        if None in raw:  # DictReader files surplus cells under None
            findings.append(Finding(path=f"row {number}", message=f"{len(raw[None])} more cell(s) than "
                                    f"the header's {len(header)} columns", code="extra_cells"))
            continue
        row = {k.strip(): (v or "").strip() for k, v in raw.items()}
        shaper = _SHAPERS.get(kind)
        try:
            shaped = shaper(row) if shaper else dict(row)
        except _CellError as exc:
            findings.append(Finding(path=f"row {number}, column {exc.column}", message=str(exc),
                                    code="list", value=row.get(exc.column)))
            continue
        shaped = {k: v for k, v in shaped.items() if v not in ("", None, [])}
        try:
            rows.append(model.model_validate(shaped))
        except ValidationError as exc:
            for e in exc.errors():
                loc = tuple(e["loc"])
                col = str(loc[0]) if loc else "?"
                findings.append(Finding(path=f"row {number}, column {col}", message=e["msg"],
                                        code=e["type"], value=row.get(col) or None))
    if findings:
        raise RefDataImportError(f"{kind} CSV has invalid rows", findings=findings)
    return ReferenceDataSet.model_validate({kind: rows})
