"""The order line's change verb: optional, one of add / change / delete, outside the keys."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from canonical.documents import OrderLine, PurchaseOrder


def _po(change: str | None) -> PurchaseOrder:
    return PurchaseOrder.model_validate({
        "po_number": "PO-1", "order_date": "2026-11-23", "purpose": "change", "revision": 1, "buyer": {"id": "B1"},
        "lines": [{"line_number": "1", "vendor_item": "W-1", "quantity": "2", "change": change}]})


def test_change_is_optional_and_does_not_move_the_keys() -> None:
    assert OrderLine(line_number="1", vendor_item="W-1", quantity=1).change is None
    assert _po("delete").lines[0].change == "delete"
    assert _po("delete").idempotency_key == _po(None).idempotency_key == _po("add").idempotency_key
    assert _po("delete").business_key == _po(None).business_key
    with pytest.raises(ValidationError):
        _po("remove")
    schema = PurchaseOrder.model_json_schema()["$defs"]["OrderLine"]["properties"]["change"]
    assert {"add", "change", "delete"} <= {e for alt in schema["anyOf"] for e in alt.get("enum", [])}
    assert "POC02" in schema["description"] and "1229" in schema["description"]
