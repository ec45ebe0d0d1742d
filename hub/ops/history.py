"""``DocumentHistory`` over the documents table, for the detectors.

Every lookup excludes documents with the idempotency key being checked, and returns the
latest revision where the protocol asks for one. Lookups read inbound documents, except a
purchase order, which may also be one Crossdock sent to a supplier. Canonical JSON is turned back into models.

Each lookup reads only the rows that can match, found through an index (business key, the
canonical PO number, buyer or seller and date, the order fingerprint, or ``ship_notice_orders``
for the orders on ship notices), and reads all of them: there is no row cap to hide any.

Usage:
    history = DbHistory(db, exclude_key=po.idempotency_key)
    history.purchase_order("PO-1", buyer_id="ACME")
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy import Select, Table, bindparam, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from canonical.documents import (
    CanonicalDocument,
    Invoice,
    OrderAcknowledgment,
    PurchaseOrder,
    ShipNotice,
)
from hub.storage.db import Database
from hub.storage.ops_tables import ShipNoticeOrder
from hub.storage.tables import Document, JsonText

__all__ = ["DbHistory", "latest_revision", "record_ship_notice_orders"]

D = TypeVar("D", bound=CanonicalDocument)


_DOCS = cast(Table, Document.__table__)
_SHIPPED = cast(Table, ShipNoticeOrder.__table__)


def _at(*path: str) -> JsonText:
    """The canonical JSON at ``path``, as text, as the expression indexes on documents have it
    (``hub.storage.tables``): the same rendering is what lets the database use them."""
    return JsonText(_DOCS.c.canonical, *path)


@cache
def _statement(directions: tuple[str, ...], exclude: bool, by: str) -> Select[Any]:
    """The lookup's statement, built once per shape (the detectors run it for every document).

    ``by`` is what narrows it, each through an index: ``business_key``; ``po_number`` (the
    canonical one); ``buyer_since``/``seller_since`` (the canonical buyer or seller, and the
    order or invoice date from ``since``); ``fingerprint`` (the keys of the buyer's that ever
    had that content); ``shipped_po`` (the ship notices with that PO among their orders).
    No row limit: a limit would hide matching rows once there are more than it.
    """
    c = _DOCS.c
    stmt = select(_DOCS).where(c.document_type == bindparam("document_type"), c.direction.in_(directions))
    if by == "business_key":
        stmt = stmt.where(c.business_key == bindparam("business_key"))
    elif by == "po_number":
        stmt = stmt.where(_at("po_number") == bindparam("po_number"))
    elif by == "buyer_since":
        stmt = stmt.where(_at("buyer", "id") == bindparam("party"), _at("order_date") >= bindparam("since"))
    elif by == "seller_since":
        stmt = stmt.where(_at("seller", "id") == bindparam("party"), _at("invoice_date") >= bindparam("since"))
    elif by == "fingerprint":  # every revision of the keys that ever had this content
        had = select(c.business_key).where(c.fingerprint == bindparam("fingerprint"),
                                           c.business_key.like(bindparam("prefix"), escape="/"))
        stmt = stmt.where(c.business_key.in_(had))
    elif by == "shipped_po":
        stmt = stmt.where(c.id.in_(select(_SHIPPED.c.document_id)
                                   .where(_SHIPPED.c.po_number == bindparam("po_number"))))
    else:
        raise ValueError(f"unknown lookup {by!r}")
    if exclude:
        stmt = stmt.where(c.idempotency_key != bindparam("exclude_key"))
    return stmt.order_by(c.id)


def record_ship_notice_orders(s: Session | Connection, rows: Sequence[Any]) -> None:
    """Index the PO numbers of the received ship notices among ``rows`` (new ``documents``
    rows, in the transaction that inserts them) for ``DbHistory.ship_notices_for``."""
    refs = [{"document_id": r.id, "po_number": po} for r in rows
            if r.document_type == "ship_notice" and r.direction == "inbound"
            for po in sorted({str(o["po_number"]) for o in _as_dict(r.canonical).get("orders") or []
                              if isinstance(o, dict) and o.get("po_number")})]
    if refs:
        s.execute(insert(_SHIPPED), refs)


def _as_dict(canonical: Any) -> dict[str, Any]:
    """A row's canonical document as a dict: a new row holds the JSON text it is stored as."""
    if isinstance(canonical, str):
        return cast(dict[str, Any], json.loads(canonical))
    return canonical or {}


def _like_prefix(text: str) -> str:
    """A LIKE pattern (escape character ``/``) matching what starts with ``text``."""
    return "".join(f"/{ch}" if ch in "/%_" else ch for ch in text) + "%"


def latest_revision(rows: Sequence[Any]) -> Any | None:
    return max(rows, key=lambda r: (int(r.revision) if r.revision.isdigit() else 0, r.id), default=None)


class DbHistory:
    """Implements ``pipelines.exceptions.DocumentHistory``."""

    def __init__(self, db: Database, *, exclude_key: str | None = None) -> None:
        self.db = db
        self.exclude_key = exclude_key

    def _rows(self, document_type: str, by: str, *, directions: tuple[str, ...] = ("inbound",),
              **params: Any) -> list[Any]:
        """Rows of the documents table (attribute access as on ``Document``), oldest first."""
        stmt = _statement(directions, bool(self.exclude_key), by)
        with self.db.read_connection() as conn:
            return list(conn.execute(stmt, {"document_type": document_type, "exclude_key": self.exclude_key,
                                            **params}).all())

    @staticmethod
    def _model(row: Any | None, model: type[D]) -> D | None:
        return None if row is None else model.model_validate(row.canonical)

    def purchase_order(self, po_number: str, *, buyer_id: str | None = None) -> PurchaseOrder | None:
        # A customer's order came in; an order of ours went out to a supplier (its 855/856/810
        # answer it). The buyer in the business key tells the two apart.
        both = ("inbound", "outbound")
        if buyer_id is None:
            rows = [r for r in self._rows("purchase_order", "po_number", directions=both, po_number=po_number)
                    if r.canonical.get("po_number") == po_number]
        else:
            rows = self._rows("purchase_order", "business_key", directions=both,
                              business_key=f"{buyer_id}/{po_number}")
        return self._model(latest_revision(rows), PurchaseOrder)

    def orders_from_buyer(self, buyer_id: str, *, since: date,
                          fingerprint: str | None = None) -> Sequence[PurchaseOrder]:
        latest: dict[str, Any] = {}
        rows = self._rows("purchase_order", "fingerprint", fingerprint=fingerprint, prefix=_like_prefix(f"{buyer_id}/")) \
            if fingerprint else self._rows("purchase_order", "buyer_since", party=buyer_id, since=since.isoformat())
        for r in rows:
            c = r.canonical
            if c.get("buyer", {}).get("id") != buyer_id or str(c.get("order_date", "")) < since.isoformat():
                continue
            held = latest.get(r.business_key)
            if held is None or latest_revision([held, r]) is r:
                latest[r.business_key] = r
        return [PurchaseOrder.model_validate(r.canonical) for r in latest.values()]

    def confirmed_acknowledgment(self, po_number: str, *, buyer_id: str) -> OrderAcknowledgment | None:
        rows = [r for r in self._rows("order_acknowledgment", "po_number", po_number=po_number)
                if r.canonical.get("po_number") == po_number and r.canonical.get("buyer", {}).get("id") == buyer_id]
        return self._model(latest_revision(rows), OrderAcknowledgment)

    def ship_notices_for(self, po_number: str, *, buyer_id: str | None = None) -> Sequence[ShipNotice]:
        latest: dict[str, Any] = {}
        for r in self._rows("ship_notice", "shipped_po", po_number=po_number):
            if not any(o.get("po_number") == po_number for o in r.canonical.get("orders", [])):
                continue
            held = latest.get(r.business_key)
            if held is None or latest_revision([held, r]) is r:
                latest[r.business_key] = r
        return [ShipNotice.model_validate(r.canonical) for r in latest.values()]

    def ship_notice(self, shipment_id: str, *, seller_id: str) -> ShipNotice | None:
        rows = self._rows("ship_notice", "business_key", business_key=f"{seller_id}/{shipment_id}")
        return self._model(latest_revision(rows), ShipNotice)

    def invoice(self, invoice_number: str, *, seller_id: str) -> Invoice | None:
        rows = self._rows("invoice", "business_key", business_key=f"{seller_id}/{invoice_number}")
        return self._model(latest_revision(rows), Invoice)

    def invoices_from(self, seller_id: str, *, since: date) -> Sequence[Invoice]:
        return [Invoice.model_validate(r.canonical)
                for r in self._rows("invoice", "seller_since", party=seller_id, since=since.isoformat())
                if r.canonical.get("seller", {}).get("id") == seller_id
                and str(r.canonical.get("invoice_date", "")) >= since.isoformat()]
