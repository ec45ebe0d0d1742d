"""Reference data: loaders (errors name row and column), lookups, unit conversion."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from exc_support import GOLDEN, refdata

from pipelines.refdata import (
    InMemoryReferenceData,
    Item,
    RefDataImportError,
    UnitConversion,
    UnknownUnit,
    convert,
    parse_refdata_csv,
    parse_refdata_json,
)

ITEMS_CSV = b"""item_number,description,gtin,base_uom,conversions,buyer_refs,vendor_refs,standard_cost
W-100,Widget,00012345678905,EA,CA=12;PL=480,ACME=AC-W100,SUPPLY=S-9100,4.00
W-300,Gizmo,,ea,,,,
"""


def test_json_golden_loads():
    data = parse_refdata_json((GOLDEN / "refdata.json").read_bytes())
    assert [i.item_number for i in data.items] == ["W-100", "W-200", "W-300"]
    assert data.stock[3].available_quantity == Decimal(-2)


@pytest.mark.parametrize(("payload", "path", "code"), [
    (b'{"items": [{"item_number": "A"}, {"item_number": "B", "gtin": "123"}]}', "items[1].gtin", "value_error"),
    (b'{"stock": [{"item_number": "A", "warehouse": "E", "on_hand": "x"}]}', "stock[0].on_hand", "decimal_parsing"),
    (b'{"customers": [{"id": "C", "priority_tier": 9}]}', "customers[0].priority_tier", "less_than_equal"),
    (b'{"colours": []}', "colours", "extra_forbidden"),
    (b'{"items": [', "", "json"),
])
def test_json_errors_name_the_path(payload, path, code):
    with pytest.raises(RefDataImportError) as err:
        parse_refdata_json(payload)
    assert [(f.path, f.code) for f in err.value.findings] == [(path, code)]


def test_items_csv_with_list_columns():
    (w100, w300) = parse_refdata_csv("items", ITEMS_CSV).items
    assert w100.factor("PL") == Decimal(480) and w100.buyer_refs[0].item == "AC-W100"
    assert (w300.gtin, w300.base_uom, w300.conversions) == (None, "EA", ())


@pytest.mark.parametrize(("kind", "csv", "expected"), [
    ("customers", b"id,ship_tos,credit_status,credit_limit,priority_tier\nACME,ST-1=EAST;ST-2=-,ok,1000,1\n",
     lambda d: (d.customers[0].ship_to("ST-1").warehouse, d.customers[0].ship_to("ST-2").warehouse) == ("EAST", None)),
    ("price_lists", b"price_list_id,item_number,uom,price,tolerance_percent,valid_to\nPL,W-1,CA,58.00,1,2026-12-31\n",
     lambda d: d.price_lists[0].valid_on(date(2026, 12, 31)) and not d.price_lists[0].valid_on(date(2027, 1, 1))),
    ("stock", b"\xef\xbb\xbfitem_number,warehouse,on_hand,allocated\nW-1,EAST,10,4\n",
     lambda d: d.stock[0].available_quantity == Decimal(6)),
])
def test_other_csv_kinds(kind, csv, expected):
    assert expected(parse_refdata_csv(kind, csv))


@pytest.mark.parametrize(("kind", "csv", "findings"), [
    ("items", b"item_number,gtin\nW-1,00012345678905\nW-2,123\n", [("row 3, column gtin", "123")]),
    ("items", b"item_number,conversions\nW-1,CA12\n", [("row 2, column conversions", "CA12")]),
    ("items", b"item_number,conversions\nW-1,CA=-1\n", [("row 2, column conversions", "CA=-1")]),
    ("stock", b"item_number,warehouse,on_hand\nW-1,EAST,lots\nW-2,,1\n",
     [("row 2, column on_hand", "lots"), ("row 3, column warehouse", None)]),
    ("price_lists", b"price_list_id,item_number\nPL,W-1\n", [("row 1 (header)", None)]),
])
def test_csv_errors_name_row_and_column(kind, csv, findings):
    with pytest.raises(RefDataImportError) as err:
        parse_refdata_csv(kind, csv)
    assert [(f.path, f.value) for f in err.value.findings] == findings


def test_unknown_csv_kind():
    with pytest.raises(RefDataImportError, match="unknown reference data kind 'colours'"):
        parse_refdata_csv("colours", b"a\n1\n")


def test_lookups_by_the_identifiers_a_line_carries():
    ref = refdata()
    assert ref.find_item(gtin="00012345678905").item_number == "W-100"
    assert ref.find_item(vendor_item="W-200").item_number == "W-200"
    assert ref.find_item(vendor_item="S-9100", partner_id="SUPPLY").item_number == "W-100"
    assert ref.find_item(buyer_item="AC-W100", partner_id="ACME").item_number == "W-100"
    assert ref.find_item(buyer_item="AC-W100", partner_id="BOLT") is None
    assert ref.known_unit("pl") and not ref.known_unit("XX")
    assert ref.price("PL-ACME", "W-100", "ca", date(2026, 11, 20)).price == Decimal("58.00")
    assert [s.warehouse for s in ref.stock("W-100")] == ["EAST", "WEST"]
    assert ref.customer("NOBODY") is None


CASE = Item(item_number="W-1", base_uom="EA",
            conversions=(UnitConversion(uom="CA", factor=Decimal(12)), UnitConversion(uom="PL", factor=Decimal(480))))


@pytest.mark.parametrize(("qty", "src", "dst", "expected"), [
    ("2", "CA", "EA", "24"), ("36", "EA", "CA", "3"), ("1", "PL", "CA", "40"), ("6", "ea", "CA", "0.5"),
    ("7", "KG", "KG", "7"),
])
def test_convert(qty, src, dst, expected):
    assert convert(Decimal(qty), src, dst, CASE) == Decimal(expected)


@pytest.mark.parametrize(("src", "dst", "item", "message"), [
    ("BX", "EA", CASE, "item W-1 has no unit BX (known: EA, CA, PL)"),
    ("CA", "DZ", CASE, "has no unit DZ"),
    ("CA", "EA", None, "cannot convert CA to EA without an item master"),
])
def test_convert_unknown_units(src, dst, item, message):
    with pytest.raises(UnknownUnit, match=re.escape(message)) as err:
        convert(Decimal(1), src, dst, item)
    assert err.value.code == "unknown_unit"


def test_in_memory_reference_data_satisfies_the_protocol():
    from pipelines.exceptions import DetectionContext, PartnerRules

    ctx = DetectionContext(InMemoryReferenceData(parse_refdata_json(b"{}")), None, PartnerRules("X"), date.today())  # type: ignore[arg-type]
    assert ctx.refdata.find_item(gtin="00012345678905") is None
