"""Test support: golden documents and a small in-memory DocumentHistory."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from canonical import model_for
from canonical.documents import (
    CanonicalDocument,
    Invoice,
    OrderAcknowledgment,
    PurchaseOrder,
    ShipNotice,
)
from pipelines.exceptions import DetectionContext, PartnerRules
from pipelines.refdata import InMemoryReferenceData, parse_refdata_json

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 20)


def golden(name: str) -> CanonicalDocument:
    data = json.loads((GOLDEN / f"{name}.json").read_text())
    return model_for(data["document_type"]).model_validate(data)


def refdata() -> InMemoryReferenceData:
    return InMemoryReferenceData(parse_refdata_json((GOLDEN / "refdata.json").read_bytes()))


@dataclass
class History:
    """DocumentHistory over a list of documents held in memory."""

    documents: list[CanonicalDocument] = field(default_factory=list)
    confirmed: list[OrderAcknowledgment] = field(default_factory=list)

    def _of(self, kind: type) -> list:
        return [d for d in self.documents if isinstance(d, kind)]

    def purchase_order(self, po_number: str, *, buyer_id: str | None = None) -> PurchaseOrder | None:
        hits = [p for p in self._of(PurchaseOrder) if p.po_number == po_number
                and (buyer_id is None or p.buyer.id == buyer_id)]
        return max(hits, key=lambda p: p.revision) if hits else None

    def orders_from_buyer(self, buyer_id: str, *, since: date,
                          fingerprint: str | None = None) -> Sequence[PurchaseOrder]:
        return [p for p in self._of(PurchaseOrder) if p.buyer.id == buyer_id and p.order_date >= since]

    def confirmed_acknowledgment(self, po_number: str, *, buyer_id: str) -> OrderAcknowledgment | None:
        hits = [a for a in self.confirmed if a.po_number == po_number and a.buyer.id == buyer_id]
        return hits[-1] if hits else None

    def ship_notices_for(self, po_number: str, *, buyer_id: str | None = None) -> Sequence[ShipNotice]:
        return [s for s in self._of(ShipNotice) if any(o.po_number == po_number for o in s.orders)]

    def ship_notice(self, shipment_id: str, *, seller_id: str) -> ShipNotice | None:
        return next((s for s in self._of(ShipNotice) if s.shipment_id == shipment_id
                     and s.seller.id == seller_id), None)

    def invoice(self, invoice_number: str, *, seller_id: str) -> Invoice | None:
        return next((i for i in self._of(Invoice) if i.invoice_number == invoice_number
                     and i.seller.id == seller_id), None)

    def invoices_from(self, seller_id: str, *, since: date) -> Sequence[Invoice]:
        return [i for i in self._of(Invoice) if i.seller.id == seller_id and i.invoice_date >= since]


def context(*held: str, confirmed: Sequence[str] = (), partner: str = "ACME", **rules: object) -> DetectionContext:
    history = History([golden(n) for n in held], [golden(n) for n in confirmed])  # type: ignore[misc]
    return DetectionContext(refdata(), history, PartnerRules(partner, **rules), TODAY)  # type: ignore[arg-type]
