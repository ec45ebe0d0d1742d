"""How much of a customer's order line Crossdock can confirm from the stock it knows.

Stock comes from reference data (``StockLevel`` per item and warehouse, in the item's base
unit). The warehouse is the one serving the order's ship-to when the customer's record
names it, else every warehouse of the item. Crossdock's own order responses sent since a
stock figure was imported have already promised part of it, so they are taken off; within
one order, each line takes from what the lines before it left; a change to an order does
not count what was promised to that order before.

An item reference data does not know, an item with no stock record, or a unit that cannot
be converted gives ``None``: no stock data, so the line is confirmed as ordered.

Usage:
    stock = StockCheck(session, refdata, po)
    can = stock.take(line)        # Decimal in the line's unit, or None (no stock data)
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

from canonical.common import ItemIdentifiers
from canonical.documents import OrderAcknowledgment, PurchaseOrder
from hub.storage.edi_tables import EdiOutbound
from hub.storage.ops_tables import RefRecord
from pipelines.refdata import Item, UnknownUnit, convert

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pipelines.refdata import ReferenceData

__all__ = ["StockCheck"]


class StockCheck:
    """Available stock for one order's lines; see the module docstring."""

    def __init__(self, session: Session, refdata: ReferenceData, po: PurchaseOrder) -> None:
        self.session = session
        self.refdata = refdata
        self.partner_id = po.buyer.id
        self.po_number = po.po_number
        customer = refdata.customer(po.buyer.id)
        location = customer.ship_to(po.ship_to.id) if customer and po.ship_to else None
        self.warehouse = location.warehouse if location else None
        self._left: dict[str, Decimal] = {}  # item number -> base units still available to this order

    def _item(self, line: ItemIdentifiers, partner_id: str | None = None) -> Item | None:
        return self.refdata.find_item(gtin=line.gtin, vendor_item=line.vendor_item, buyer_item=line.buyer_item,
                                      partner_id=partner_id or self.partner_id)

    def _available(self, item: Item) -> Decimal | None:
        levels = [s for s in self.refdata.stock(item.item_number)
                  if self.warehouse is None or s.warehouse == self.warehouse]
        if not levels:
            return None
        keys = [f"{s.item_number}|{s.warehouse}" for s in levels]
        taken = self.session.scalar(select(RefRecord.updated_at).where(
            RefRecord.kind == "stock", RefRecord.key.in_(keys)).order_by(RefRecord.updated_at.desc()).limit(1))
        on_hand = sum((s.available_quantity for s in levels), Decimal(0))
        return max(on_hand - self._promised_since(item, taken), Decimal(0))

    def _promised_since(self, item: Item, since: datetime | None) -> Decimal:
        """What Crossdock's order responses sent after the stock figure confirmed of ``item``."""
        if since is None:
            return Decimal(0)
        total = Decimal(0)
        for canonical in self.session.scalars(select(EdiOutbound.canonical).where(
                EdiOutbound.document_type == "order_acknowledgment", EdiOutbound.created_at > since,
                EdiOutbound.canonical.is_not(None))):
            ack = OrderAcknowledgment.model_validate(canonical)
            if ack.po_number == self.po_number and ack.buyer.id == self.partner_id:
                continue  # answering a change to this order: what it was promised before is its own
            for line in ack.lines:
                found = self._item(line, ack.buyer.id) if line.quantity > 0 else None
                if found is not None and found.item_number == item.item_number:
                    total += self._base(line.quantity, line.uom, item) or Decimal(0)
        return total

    @staticmethod
    def _base(quantity: Decimal, uom: str, item: Item) -> Decimal | None:
        try:
            return convert(quantity, uom, item.base_uom, item)
        except UnknownUnit:
            return None

    def take(self, line: ItemIdentifiers, quantity: Decimal, uom: str) -> Decimal | None:
        """Up to ``quantity`` (in ``uom``) of the line's item, whole units, taken from stock."""
        item = self._item(line)
        if item is None:
            return None
        if item.item_number not in self._left:
            available = self._available(item)
            if available is None:
                return None
            self._left[item.item_number] = available
        try:
            can = convert(self._left[item.item_number], item.base_uom, uom, item)
        except UnknownUnit:
            return None
        confirmed = min(quantity, can.to_integral_value(ROUND_FLOOR))
        self._left[item.item_number] -= self._base(confirmed, uom, item) or Decimal(0)
        return confirmed
