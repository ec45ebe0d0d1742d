"""A document's JSON is written once (pydantic's writer) and stored as it is in every JSON column."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from sqlalchemy import select, text

from canonical.documents import DocumentJSON, PurchaseOrder
from hub.storage.db import Database
from hub.storage.tables import Document, JsonText
from pipelines.runner import Message


def _order() -> PurchaseOrder:
    return PurchaseOrder.model_validate({
        "po_number": "PO-Ü-7", "order_date": date(2026, 3, 2).isoformat(), "currency": "EUR",
        "buyer": {"id": "ACME", "name": "Müller & Söhne"}, "seller": {"id": "WIDGETS"},
        "lines": [{"line_number": "1", "buyer_item": "SKU-1", "gtin": "00012345678905",
                   "quantity": "12.5", "uom": "EA", "unit_price": "3.10"}]})


def test_a_message_writes_each_documents_json_once_and_it_reads_as_the_model_dump() -> None:
    order = _order()
    message = Message(receipt_id=1, partner_id="ACME", channel="api", raw=b"")
    first = message.canonical_json(order)
    assert type(first) is DocumentJSON
    assert message.canonical_json(order) is first  # the document row and the EDI record share it
    assert json.loads(first) == order.model_dump(mode="json")


def test_a_json_column_stores_the_text_as_written_and_other_values_as_json(db: Database) -> None:
    order = _order()
    written = Message(receipt_id=1, partner_id="ACME", channel="api", raw=b"").canonical_json(order)
    with db.session() as s:
        for key, canonical in (("a", written), ("b", order.model_dump(mode="json"))):
            s.add(Document(partner_id="ACME", document_type="purchase_order", idempotency_key=key,
                           business_key=f"ACME/{key}", revision="0", direction="inbound", status="accepted",
                           canonical=canonical))
    with db.session() as s:
        stored = dict(s.execute(select(Document.idempotency_key, Document.canonical)).all())
        # the text itself, not a JSON string holding it
        assert stored["a"] == stored["b"] == order.model_dump(mode="json")
        assert PurchaseOrder.model_validate(stored["a"]) == order
        # what the detectors' expression indexes read from the text
        assert s.scalar(select(JsonText(Document.canonical, "buyer", "id"))
                        .where(Document.idempotency_key == "a")) == "ACME"
        assert s.scalar(select(JsonText(Document.canonical, "lines")).where(Document.idempotency_key == "a")) \
            is not None
        raw = s.scalar(text("select canonical from documents where idempotency_key = 'a'"))
    assert json.loads(raw if isinstance(raw, str) else json.dumps(raw))["buyer"]["name"] == "Müller & Söhne"
    assert Decimal(stored["a"]["lines"][0]["quantity"]) == Decimal("12.5")
