"""Record maps: a web shop's JSON and a field-sales CSV become purchase orders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from canonical.errors import ConfigurationError, ValidationFailed
from mappings.records import RecordMapSpec, load_record_map
from tests.mappings.edi import GOLDEN


def _dump(docs) -> list[dict]:  # type: ignore[no-untyped-def]
    return [d.model_dump(mode="json", exclude_none=True, exclude={"idempotency_key"}) for d in docs]


@pytest.mark.parametrize(
    ("name", "payload", "expected"),
    [("webshop_order", "record_webshop_order.json", "record_webshop_order.expected.json"),
     ("field_sales_csv", "record_field_sales.csv", "record_field_sales.expected.json")],
)
def test_record_golden(name: str, payload: str, expected: str) -> None:
    docs = load_record_map(name).to_canonical((GOLDEN / payload).read_bytes())
    assert _dump(docs) == json.loads((GOLDEN / expected).read_text())


def test_csv_rows_are_grouped_by_po_number() -> None:
    docs = load_record_map("field_sales_csv").to_canonical((GOLDEN / "record_field_sales.csv").read_text())
    assert [(d.po_number, len(d.lines)) for d in docs] == [("FS-2026-001", 2), ("FS-2026-002", 1)]


def test_same_order_from_webshop_and_edi_has_one_key() -> None:
    # The business key is buyer + PO number, whichever channel the order came by.
    [shop] = load_record_map("webshop_order").to_canonical((GOLDEN / "record_webshop_order.json").read_bytes())
    edi_like = shop.model_copy(update={"notes": [], "ship_to": None})
    assert edi_like.idempotency_key == shop.idempotency_key


def test_invalid_record_names_the_field_and_its_source() -> None:
    data = json.loads((GOLDEN / "record_webshop_order.json").read_text())
    del data["items"][1]["qty"]
    data["created_at"] = "23.11.2026"
    with pytest.raises(ValidationFailed) as err:
        load_record_map("webshop_order").to_canonical(data, partner="SHOP")
    by_path = {f.path: f for f in err.value.findings}
    assert "from items[1].qty" in by_path["lines[1].quantity"].message
    assert by_path["order_date"].value == "23.11.2026"
    assert err.value.partner == "SHOP"


def test_csv_without_the_group_column_is_a_parse_error() -> None:
    from canonical.errors import ParseError

    with pytest.raises(ParseError, match="PO Number"):
        load_record_map("field_sales_csv").to_canonical("Order,Item\n1,W-1\n")


@pytest.mark.parametrize(
    ("change", "where"),
    [({"fields": {"po_numbr": "id"}}, "po_numbr"),
     ({"fields": {"po_number": {"source": "id", "transform": "date:XX"}}}, "po_number"),
     ({"format": "xml"}, "format")],
)
def test_bad_record_map_is_refused(change: dict, where: str) -> None:
    base = {"name": "x", "format": "json", "document": "purchase_order", "fields": {"po_number": "id"}}
    with pytest.raises(Exception) as err:
        RecordMapSpec.model_validate({**base, **change})
    assert where in str(err.value)


def test_unknown_record_map_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        load_record_map("no_such_map")
