"""Reference data from the ERP: products become items, sold-to parties become customers.

Delta-driven: the first run reads everything, later runs only what changed since the token
the ERP handed back last time; the token is stored in ``connector_state`` in the same
transaction as the records, so a failed run reads the same changes again. What the hub
already knows about a record (cross references, credit limits, price lists loaded from
files) is kept: the ERP's fields are merged in, not written over it.

* product ``TG11`` (base unit ``PC``) -> item ``TG11`` (base unit ``EA``), unless marked for deletion
* the business partner that is a partner's ``sold_to`` -> customer ``<partner id>``, with its
  name and ``credit_status: hold`` while the ERP blocks it centrally
* the destination's ``materials`` (the partner's item numbers) -> the items' buyer cross references

Only destinations with ``sync_reference_data: true`` take part: an item master turns on item
and customer validation for every order, so it is a decision, not a side effect.

Usage:
    counts = ErpReferenceSync(db).run()      # {"items": 10, "customers": 1}
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.erp.destination import gateway_for
from hub.reconcile.gather import ErpScope, erp_scopes
from hub.storage.db import Database
from hub.storage.ops_tables import RefRecord
from hub.storage.tables import ConnectorState
from pipelines.refdata import Customer, Item, ItemCrossRef

__all__ = ["ErpReferenceSync"]

UNITS = {"PC": "EA", "ST": "EA"}  # ERP unit -> the hub's unit


def _merge(s: Session, kind: str, key: str, fields: dict[str, Any], model: type[Item] | type[Customer],
           source: str) -> None:
    row = s.scalar(select(RefRecord).where(RefRecord.kind == kind, RefRecord.key == key))
    data = model.model_validate({**(row.data if row is not None else {}), **fields}).model_dump(mode="json")
    if row is None:
        s.add(RefRecord(kind=kind, key=key, data=data, source=source))
    else:
        row.data, row.source = data, source


class ErpReferenceSync:
    """Reads products and business partners from every ERP the partners' destinations name."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def run(self) -> dict[str, int]:
        counts = {"items": 0, "customers": 0}
        with self.db.reader() as s:
            scopes = erp_scopes(s)
        for scope in scopes:
            for kind, n in self._sync(scope).items():
                counts[kind] += n
        return counts

    def _sync(self, scope: ErpScope) -> dict[str, int]:
        targets = {p: t for p, t in scope.targets.items() if t.sync_reference_data}
        if not targets:
            return {}
        gateway = gateway_for(scope.connection)
        source = f"erp {scope.connection.get('base_url', '')}"
        state_key = "erp-refdata:" + hashlib.sha256(
            json.dumps(scope.connection, sort_keys=True, default=str).encode()).hexdigest()[:16]
        with self.db.reader() as s:
            state = s.get(ConnectorState, state_key)
            tokens: dict[str, Any] = dict(state.value) if state is not None else {}
        products = gateway.read_products(since=tokens.get("products"))
        partners = gateway.read_business_partners(since=tokens.get("business_partners"))
        by_number = {bp.business_partner: bp for bp in partners.records}
        counts = {"items": 0, "customers": 0}
        with self.db.session() as s:
            for product in products.records:
                if product.marked_for_deletion:
                    continue
                unit = UNITS.get(product.base_unit, product.base_unit or "EA")[:3]
                _merge(s, "items", product.product, {"item_number": product.product, "base_uom": unit}, Item, source)
                counts["items"] += 1
            s.flush()
            for partner_id, target in sorted(targets.items()):
                for ident, material in sorted(target.materials.items()):
                    item = s.scalar(select(RefRecord).where(RefRecord.kind == "items", RefRecord.key == material))
                    refs = list((item.data if item is not None else {}).get("buyer_refs") or [])
                    ref = ItemCrossRef(partner_id=partner_id, item=ident).model_dump(mode="json")
                    if item is not None and ref not in refs:
                        _merge(s, "items", material, {"buyer_refs": [*refs, ref]}, Item, source)
                bp = by_number.get(target.sold_to)
                if bp is None:
                    continue
                _merge(s, "customers", partner_id, {"id": partner_id, "name": bp.name or None,
                                                    "credit_status": "hold" if bp.blocked else "ok"}, Customer, source)
                counts["customers"] += 1
            value = {"products": products.delta_token, "business_partners": partners.delta_token}
            row = s.get(ConnectorState, state_key)
            if row is None:
                s.add(ConnectorState(key=state_key, value=value))
            else:
                row.value = value
        return counts
