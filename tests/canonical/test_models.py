"""Canonical models: names integrations rely on, exact decimals, deterministic keys, schemas."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from canonical import (
    DOCUMENT_TYPES,
    Invoice,
    OrderAcknowledgment,
    PurchaseOrder,
    ShipmentStatus,
    ShipNotice,
    export_schemas,
    make_idempotency_key,
    model_for,
)
from canonical.common import gtin_is_valid
from canonical.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]


def po(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "examples" / "purchase-order.json").read_text())
    data.update(over)
    return data


def test_purchase_order_json_uses_the_documented_names() -> None:
    dumped = PurchaseOrder.model_validate(po()).model_dump(mode="json")
    for name in ("document_type", "po_number", "purpose", "order_date", "requested_delivery_date", "currency",
                 "buyer", "seller", "ship_to", "bill_to", "lines", "idempotency_key"):
        assert name in dumped
    assert set(dumped["buyer"]) >= {"id", "qualifier", "name", "address"}
    assert set(dumped["lines"][0]) >= {"line_number", "buyer_item", "vendor_item", "gtin", "description",
                                       "quantity", "uom", "unit_price"}
    assert dumped["document_type"] == "purchase_order"


def test_money_and_quantities_are_exact_decimals() -> None:
    order = PurchaseOrder.model_validate(po(lines=[{"line_number": "1", "vendor_item": "X", "quantity": 0.1,
                                                    "unit_price": "0.20"}]))
    line = order.lines[0]
    assert line.quantity == Decimal("0.1") and isinstance(line.quantity, Decimal)
    assert order.total_amount() == Decimal("0.020")
    assert order.model_dump(mode="json")["lines"][0]["unit_price"] == "0.20"


def test_idempotency_key_is_deterministic_and_ignores_channel_details() -> None:
    a = PurchaseOrder.model_validate(po())
    b = PurchaseOrder.model_validate(po(notes=["sent from the web shop"], ship_to=None))
    assert a.idempotency_key == b.idempotency_key  # same buyer + PO number + revision: one order
    assert a.idempotency_key == make_idempotency_key("purchase_order", "ACME", "PO-1001", 0)
    changed = PurchaseOrder.model_validate(po(purpose="change", revision=1))
    assert changed.idempotency_key != a.idempotency_key and changed.business_key == a.business_key
    other_buyer = PurchaseOrder.model_validate(po(buyer={"id": "GLOBEX"}))
    assert other_buyer.idempotency_key != a.idempotency_key
    # parts cannot run into each other
    assert make_idempotency_key("t", "AB", "C", 0) != make_idempotency_key("t", "A", "BC", 0)


def test_own_output_reads_back() -> None:
    order = PurchaseOrder.model_validate(po())
    again = PurchaseOrder.model_validate_json(order.model_dump_json())
    assert again == order


@pytest.mark.parametrize("change,path", [
    ({"lines": []}, ""),
    ({"currency": "usd"}, "currency"),
    ({"surprise": 1}, "surprise"),
    ({"lines": [{"line_number": "1", "quantity": 1}]}, "lines.0"),
    ({"lines": [{"line_number": "1", "vendor_item": "A", "quantity": 0}]}, "lines.0.quantity"),
    ({"lines": [{"line_number": "1", "gtin": "00012345678906", "quantity": 1}]}, "lines.0.gtin"),
    ({"lines": [{"line_number": "1", "vendor_item": "A", "quantity": 1},
                {"line_number": "1", "vendor_item": "B", "quantity": 1}]}, ""),
])
def test_invalid_orders_name_the_field(change: dict[str, Any], path: str) -> None:
    with pytest.raises(ValidationError) as info:
        PurchaseOrder.model_validate(po(**change))
    locs = {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}
    assert path in locs


def test_cancel_may_have_no_lines() -> None:
    assert PurchaseOrder.model_validate(po(purpose="cancel", revision=2, lines=[])).lines == []


def test_gtin_check_digit() -> None:
    assert gtin_is_valid("00012345678905") and gtin_is_valid("4006381333931")
    assert not gtin_is_valid("4006381333932") and not gtin_is_valid("12345")


def test_other_documents_and_their_keys() -> None:
    ack = OrderAcknowledgment.model_validate({
        "po_number": "PO-1", "ack_date": "2026-11-24", "status": "accepted_with_changes",
        "buyer": {"id": "ACME"}, "seller": {"id": "DIST"},
        "lines": [{"line_number": "1", "vendor_item": "A", "status": "backordered", "quantity": "0",
                   "scheduled_date": "2026-12-10"}]})
    asn = ShipNotice.model_validate({
        "shipment_id": "SH-1", "ship_date": "2026-11-25", "carrier_scac": "UPSN", "tracking_number": "1Z9",
        "seller": {"id": "DIST"}, "orders": [{"po_number": "PO-1", "packs": [
            {"sscc": "000123450000000017", "items": [{"line_number": "1", "vendor_item": "A", "quantity": 5}]},
            {"items": [{"line_number": "1", "vendor_item": "A", "quantity": 3}]}]}]})
    assert asn.shipped_quantities() == {("PO-1", "1"): Decimal(8)}
    status = ShipmentStatus.model_validate({
        "carrier_scac": "UPSN", "tracking_number": "1Z9", "events": [
            {"code": "picked_up", "occurred_at": "2026-11-25T10:00:00Z"},
            {"code": "delivered", "occurred_at": "2026-11-27T15:00:00Z"}]})
    assert status.latest.code == "delivered"
    invoice = Invoice.model_validate({
        "invoice_number": "INV-1", "invoice_date": "2026-11-28", "seller": {"id": "DIST"}, "buyer": {"id": "ACME"},
        "lines": [{"line_number": "1", "vendor_item": "A", "quantity": 8, "unit_price": "2.50"}],
        "taxes": [{"type": "sales", "rate": "7", "amount": "1.40"}],
        "allowances_charges": [{"indicator": "charge", "code": "FRT", "amount": "5.00"},
                               {"indicator": "allowance", "amount": "1.00"}],
        "totals": {"total_amount": "25.40"}})
    assert invoice.computed_total() == Decimal("25.40")
    keys = {d.idempotency_key for d in (ack, asn, status, invoice)}
    assert len(keys) == 4


def test_model_for_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="purchase_order"):
        model_for("pick_ticket")


def test_exported_schemas_validate_real_documents(tmp_path: Path) -> None:
    paths = export_schemas(tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{t}.schema.json" for t in DOCUMENT_TYPES)
    schema = json.loads((tmp_path / "purchase_order.schema.json").read_text())
    dumped = PurchaseOrder.model_validate(po()).model_dump(mode="json")
    jsonschema.validate(dumped, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**dumped, "po_number": ""}, schema)


def test_gtin_check_digit_matches_the_textbook_rule() -> None:
    def textbook(gtin: str) -> bool:
        if not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
            return False
        body, check = [int(c) for c in gtin[:-1]], int(gtin[-1])
        total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
        return (10 - total % 10) % 10 == check

    rnd = random.Random(5)
    for _ in range(20000):
        gtin = "".join(rnd.choice("0123456789") for _ in range(rnd.choice((7, 8, 12, 13, 14, 15))))
        assert gtin_is_valid(gtin) == textbook(gtin), gtin
    assert gtin_is_valid("4012345000009") and not gtin_is_valid("4012345000008")
