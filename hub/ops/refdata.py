"""Reference data in the hub database: import from files, read through ``ReferenceData``.

Each record (an item, a customer, a price-list entry, a stock level, a unit) is one row of
``reference_data`` keyed by kind and its natural key; importing the same key again replaces
it. ``DbReferenceData`` serves the pipeline from a snapshot it reloads when the table
changes (checked at most every ``ttl`` seconds), so a stage costs no query per line.

Usage:
    with db.session() as s:
        counts = import_file(s, Path("items.csv"))          # {"items": 120}
    ref = DbReferenceData(db)
    ref.find_item(gtin="00012345678905")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.storage.db import Database
from hub.storage.ops_tables import RefRecord
from pipelines.refdata import (
    CSV_KINDS,
    Customer,
    InMemoryReferenceData,
    Item,
    PriceListEntry,
    RefDataImportError,
    ReferenceDataSet,
    StockLevel,
    parse_refdata_csv,
    parse_refdata_json,
)

__all__ = ["DbReferenceData", "import_dataset", "import_file", "parse_file", "record_key"]

KINDS = ("units", "items", "customers", "price_lists", "stock")


def record_key(kind: str, record: Any) -> str:
    """The natural key of one record (what a re-import replaces)."""
    if kind == "units":
        return str(record).upper()
    if kind == "items":
        return str(record.item_number)
    if kind == "customers":
        return str(record.id)
    if kind == "price_lists":
        return "|".join(str(x) for x in (record.price_list_id, record.item_number, record.uom.upper(),
                                           record.valid_from or "", record.valid_to or ""))
    return f"{record.item_number}|{record.warehouse}"


def parse_file(path: Path, *, kind: str | None = None) -> ReferenceDataSet:
    """JSON (any kinds) or CSV (one kind, from ``kind`` or the file name, e.g. ``items.csv``)."""
    data = path.read_bytes()
    if path.suffix.lower() == ".json":
        return parse_refdata_json(data)
    name = kind or path.stem.lower().replace("-", "_")
    match = next((k for k in CSV_KINDS if name == k or name.startswith(k) or name.endswith(k)), None)
    if match is None:
        raise RefDataImportError(f"{path.name}: say which kind of CSV this is with --kind "
                                 f"({', '.join(CSV_KINDS)}) or name the file after it")
    return parse_refdata_csv(match, data)


def import_dataset(session: Session, data: ReferenceDataSet, *, source: str | None = None) -> dict[str, int]:
    """Insert or replace every record of ``data``; returns counts per kind."""
    counts: dict[str, int] = {}
    for kind in KINDS:
        records: Sequence[Any] = getattr(data, kind)
        for record in records:
            key = record_key(kind, record)
            payload = {"value": record.upper()} if kind == "units" else record.model_dump(mode="json")
            row = session.scalar(select(RefRecord).where(RefRecord.kind == kind, RefRecord.key == key))
            if row is None:
                session.add(RefRecord(kind=kind, key=key, data=payload, source=source))
            else:
                row.data, row.source = payload, source
        if records:
            counts[kind] = len(records)
    return counts


def import_file(session: Session, path: Path, *, kind: str | None = None) -> dict[str, int]:
    return import_dataset(session, parse_file(path, kind=kind), source=path.name)


def load_dataset(session: Session) -> ReferenceDataSet:
    rows: dict[str, list[Any]] = {k: [] for k in KINDS}
    for kind, data in session.execute(select(RefRecord.kind, RefRecord.data).order_by(RefRecord.id)):
        rows.setdefault(kind, []).append(data["value"] if kind == "units" else data)
    return ReferenceDataSet.model_validate(rows)


class DbReferenceData:
    """``pipelines.refdata.ReferenceData`` over the ``reference_data`` table."""

    def __init__(self, db: Database, *, ttl: float = 1.0) -> None:
        self.db = db
        self.ttl = ttl
        self._lock = threading.Lock()
        self._checked = 0.0
        self._stamp: tuple[Any, ...] | None = None
        self._data = InMemoryReferenceData(ReferenceDataSet())

    def _current(self) -> InMemoryReferenceData:
        with self._lock:
            if time.monotonic() - self._checked < self.ttl:
                return self._data
            with self.db.reader() as s:
                stamp = tuple(s.execute(select(func.count(), func.max(RefRecord.updated_at))).one())
                if stamp != self._stamp:
                    self._data = InMemoryReferenceData(load_dataset(s))
                    self._stamp = stamp
            self._checked = time.monotonic()
            return self._data

    @property
    def empty(self) -> bool:
        """No reference data imported: validation against it is skipped."""
        data = self._current().data
        return not (data.items or data.customers)

    def find_item(self, *, gtin: str | None = None, vendor_item: str | None = None,
                  buyer_item: str | None = None, partner_id: str | None = None) -> Item | None:
        return self._current().find_item(gtin=gtin, vendor_item=vendor_item, buyer_item=buyer_item,
                                         partner_id=partner_id)

    def known_unit(self, uom: str) -> bool:
        return self._current().known_unit(uom)

    def customer(self, customer_id: str) -> Customer | None:
        return self._current().customer(customer_id)

    def price(self, price_list_id: str, item_number: str, uom: str, on: date) -> PriceListEntry | None:
        return self._current().price(price_list_id, item_number, uom, on)

    def stock(self, item_number: str) -> Sequence[StockLevel]:
        return self._current().stock(item_number)
