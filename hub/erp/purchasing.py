"""Purchase orders from the ERP to suppliers: each becomes one 850 / ORDERS.

A supplier takes part when its profile has an ``sap_s4`` destination naming its supplier
number in the ERP (:class:`hub.erp.suppliers.ErpSupplierTarget`) and an EDI profile. The
purchase order API offers no delta, so the creation time stands in for one: each run reads
the supplier's purchase orders created since a watermark (kept in ``connector_state`` per
connection and supplier, written in the transaction that queues the 850s) and moves the
watermark to the newest creation time it saw, less an overlap for orders committed late.
An order read again is sent once: the 850's document key is the ERP's purchase order
number, and ``hub.edi.outbound.queue_document`` sends a key once. The first run sends
nothing older than itself unless the profile says ``purchase_orders_created_from``.

* ERP item ``00010`` -> 850 line ``10`` (what the supplier's 855/856/810 quote back)
* material ``TG11`` -> buyer item ``TG11``, vendor item from the profile's ``items``
* unit ``PC`` -> ``EA``; net price per price unit -> unit price

Usage:
    queued = ErpPurchaseOrderFeed(db).run()      # {"purchase_order": 1}
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from canonical.documents import OrderLine, PurchaseOrder
from connectors.erp import ErpPurchaseOrder
from hub.edi.outbound import queue_document
from hub.erp.gateways import gateway_for
from hub.erp.refdata_sync import UNITS
from hub.erp.suppliers import ErpSupplierTarget, supplier_targets
from hub.partners import partner_dict
from hub.storage.db import Database
from hub.storage.tables import ConnectorState, Document, utcnow

__all__ = ["ErpPurchaseOrderFeed", "purchase_order_from"]

log = logging.getLogger(__name__)
OVERLAP = timedelta(minutes=10)


def purchase_order_from(po: ErpPurchaseOrder, target: ErpSupplierTarget, *, buyer_id: str,
                        seller_id: str) -> PurchaseOrder | None:
    """The supplier's 850 for one ERP purchase order (None when no item has a quantity)."""
    lines = [OrderLine(line_number=str(int(i.item)) if i.item.isdigit() else i.item, buyer_item=i.material or None,
                       vendor_item=target.items.get(i.material), description=i.text or None, quantity=i.quantity,
                       uom=UNITS.get(i.unit, i.unit or "EA")[:3], unit_price=i.unit_price.normalize())
             for i in po.items if i.quantity > 0]
    if not lines:
        return None
    buyer: dict[str, Any] = {"id": buyer_id, **({"name": target.buyer_name} if target.buyer_name else {})}
    return PurchaseOrder.model_validate({
        "po_number": po.purchase_order, "order_date": po.order_date or utcnow().date(),
        "currency": po.currency or "EUR", "buyer": buyer, "seller": {"id": seller_id}, "ship_to": buyer,
        "lines": [ln.model_dump() for ln in lines]})


class ErpPurchaseOrderFeed:
    """Queues an 850 / ORDERS for each new ERP purchase order of a supplier with an EDI profile."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def run(self) -> dict[str, int]:
        queued = 0
        with self.db.reader() as s:
            targets = supplier_targets(s)
        for partner_id, target in targets:
            if target.send_purchase_orders:
                queued += self._feed(partner_id, target)
        return {"purchase_order": queued}

    def _feed(self, partner_id: str, target: ErpSupplierTarget) -> int:
        key = "erp-purchase-orders:" + hashlib.sha256(json.dumps(
            [target.connection, target.supplier], sort_keys=True, default=str).encode()).hexdigest()[:16]
        with self.db.reader() as s:
            state = s.get(ConnectorState, key)
            kept = dict(state.value) if state is not None else None
            partner = partner_dict(s, partner_id)
        if partner is None or not partner.get("edi"):
            log.warning("supplier %s has no EDI profile: its ERP purchase orders are not sent", partner_id)
            return 0
        since = (datetime.fromisoformat(kept["created_since"]) if kept
                 else target.purchase_orders_created_from or utcnow())
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        orders = gateway_for(target.connection).read_purchase_orders(supplier=target.supplier, created_since=since)
        edi = partner["edi"]
        queued = 0
        with self.db.session() as s:
            for po in sorted(orders, key=lambda p: p.purchase_order):
                doc = purchase_order_from(po, target, buyer_id=str(edi.get("our_interchange_id") or "CROSSDOCK"),
                                          seller_id=str(edi.get("interchange_id") or partner_id))
                if doc is None:
                    continue
                held = s.scalar(select(Document.id).where(Document.idempotency_key == doc.idempotency_key))
                row = queue_document(s, partner, doc)
                s.execute(update(Document).where(Document.id == row.document_id)
                          .values(erp_document_number=po.purchase_order))
                queued += held is None
            newest = max((p.created_at for p in orders if p.created_at), default=None)
            value = {"created_since": max(since, newest - OVERLAP).isoformat() if newest else since.isoformat()}
            row_state = s.get(ConnectorState, key)
            if row_state is None:
                s.add(ConnectorState(key=key, value=value))
            else:
                row_state.value = value
        return queued
