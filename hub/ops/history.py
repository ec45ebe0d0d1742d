"""``DocumentHistory`` over the documents table, for the detectors.

Every lookup excludes documents with the idempotency key being checked, and returns the
latest revision where the protocol asks for one. Lookups read inbound documents, except a
purchase order, which may also be one Crossdock sent to a supplier. Canonical JSON is turned back into models.

Usage:
    history = DbHistory(db, exclude_key=po.idempotency_key)
    history.purchase_order("PO-1", buyer_id="ACME")
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, select

from canonical.documents import (
    CanonicalDocument,
    Invoice,
    OrderAcknowledgment,
    PurchaseOrder,
    ShipNotice,
)
from hub.storage.db import Database
from hub.storage.tables import Document

__all__ = ["DbHistory", "latest_revision"]

D = TypeVar("D", bound=CanonicalDocument)


_DOCS = Document.__table__


@cache
def _statement(directions: tuple[str, ...], by_key: bool, exclude: bool, since: bool) -> Select[Any]:
    """The lookup's statement, built once per shape (the detectors run it for every document)."""
    c = _DOCS.c
    stmt = select(_DOCS).where(c.document_type == bindparam("document_type"), c.direction.in_(directions))
    if by_key:
        stmt = stmt.where(c.business_key == bindparam("business_key"))
    if exclude:
        stmt = stmt.where(c.idempotency_key != bindparam("exclude_key"))
    if since:
        stmt = stmt.where(c.created_at >= bindparam("since"))
    return stmt.order_by(c.id).limit(5000)


def latest_revision(rows: Sequence[Any]) -> Any | None:
    return max(rows, key=lambda r: (int(r.revision) if r.revision.isdigit() else 0, r.id), default=None)


class DbHistory:
    """Implements ``pipelines.exceptions.DocumentHistory``."""

    def __init__(self, db: Database, *, exclude_key: str | None = None) -> None:
        self.db = db
        self.exclude_key = exclude_key

    def _rows(self, document_type: str, business_key: str | None = None, *,
              directions: tuple[str, ...] = ("inbound",), **where: Any) -> list[Any]:
        """Rows of the documents table (attribute access as on ``Document``), oldest first."""
        params: dict[str, Any] = {"document_type": document_type, "business_key": business_key,
                                  "exclude_key": self.exclude_key, "since": where.get("since")}
        stmt = _statement(directions, business_key is not None, bool(self.exclude_key), "since" in where)
        if where.get("fingerprint"):  # every revision of the keys that ever had this content
            had = (select(_DOCS.c.business_key)
                   .where(_DOCS.c.fingerprint == where["fingerprint"],
                          _DOCS.c.business_key.startswith(f"{where['buyer']}/", autoescape=True)))
            stmt = stmt.where(_DOCS.c.business_key.in_(had))
        with self.db.read_connection() as conn:
            return list(conn.execute(stmt, params).all())

    @staticmethod
    def _model(row: Any | None, model: type[D]) -> D | None:
        return None if row is None else model.model_validate(row.canonical)

    def purchase_order(self, po_number: str, *, buyer_id: str | None = None) -> PurchaseOrder | None:
        # A customer's order came in; an order of ours went out to a supplier (its 855/856/810
        # answer it). The buyer in the business key tells the two apart.
        both = ("inbound", "outbound")
        if buyer_id is None:
            rows = [r for r in self._rows("purchase_order", directions=both)
                    if r.canonical.get("po_number") == po_number]
        else:
            rows = self._rows("purchase_order", f"{buyer_id}/{po_number}", directions=both)
        return self._model(latest_revision(rows), PurchaseOrder)

    def orders_from_buyer(self, buyer_id: str, *, since: date,
                          fingerprint: str | None = None) -> Sequence[PurchaseOrder]:
        latest: dict[str, Any] = {}
        rows = self._rows("purchase_order", fingerprint=fingerprint, buyer=buyer_id) if fingerprint \
            else self._rows("purchase_order")
        for r in rows:
            c = r.canonical
            if c.get("buyer", {}).get("id") != buyer_id or str(c.get("order_date", "")) < since.isoformat():
                continue
            held = latest.get(r.business_key)
            if held is None or latest_revision([held, r]) is r:
                latest[r.business_key] = r
        return [PurchaseOrder.model_validate(r.canonical) for r in latest.values()]

    def confirmed_acknowledgment(self, po_number: str, *, buyer_id: str) -> OrderAcknowledgment | None:
        rows = [r for r in self._rows("order_acknowledgment")
                if r.canonical.get("po_number") == po_number and r.canonical.get("buyer", {}).get("id") == buyer_id]
        return self._model(latest_revision(rows), OrderAcknowledgment)

    def ship_notices_for(self, po_number: str, *, buyer_id: str | None = None) -> Sequence[ShipNotice]:
        latest: dict[str, Any] = {}
        for r in self._rows("ship_notice"):
            if not any(o.get("po_number") == po_number for o in r.canonical.get("orders", [])):
                continue
            held = latest.get(r.business_key)
            if held is None or latest_revision([held, r]) is r:
                latest[r.business_key] = r
        return [ShipNotice.model_validate(r.canonical) for r in latest.values()]

    def ship_notice(self, shipment_id: str, *, seller_id: str) -> ShipNotice | None:
        return self._model(latest_revision(self._rows("ship_notice", f"{seller_id}/{shipment_id}")), ShipNotice)

    def invoice(self, invoice_number: str, *, seller_id: str) -> Invoice | None:
        return self._model(latest_revision(self._rows("invoice", f"{seller_id}/{invoice_number}")), Invoice)

    def invoices_from(self, seller_id: str, *, since: date) -> Sequence[Invoice]:
        return [Invoice.model_validate(r.canonical) for r in self._rows("invoice")
                if r.canonical.get("seller", {}).get("id") == seller_id
                and str(r.canonical.get("invoice_date", "")) >= since.isoformat()]
