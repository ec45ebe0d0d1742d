"""Edge cases around units, shared stock, split invoice lines and cross references."""

from __future__ import annotations

from decimal import Decimal

import pytest
from exc_support import TODAY, context, golden, refdata

from pipelines.exceptions import validate_document
from pipelines.exceptions.detectors import (
    detect_inventory,
    detect_invoice_match,
    detect_order_price,
)
from pipelines.refdata import (
    InMemoryReferenceData,
    RefDataImportError,
    parse_refdata_csv,
    parse_refdata_json,
)


def with_lines(doc, *updates):
    """A copy of ``doc`` whose lines are its first line updated once per ``updates`` entry."""
    first = doc.lines[0]
    lines = [first.model_copy(update={"line_number": str(n + 1), **u}) for n, u in enumerate(updates)]
    return doc.model_copy(update={"lines": lines})


def test_lines_for_the_same_item_draw_on_the_same_stock():
    # ST-1 is served from EAST (400 EA available); WEST has 300 more.
    po = with_lines(golden("po_clean"), {"quantity": Decimal(40)}, {"quantity": Decimal(30)})  # 480 + 360 EA
    split, short = detect_inventory(po, context())
    assert (split.path, split.severity.value, split.amount_at_risk) == ("lines[0].quantity", "medium", Decimal("0.00"))
    assert split.evidence["recommended_action"] == "split_ship_from_alternate_warehouse"
    assert (split.evidence["available_in_serving_warehouse"], split.evidence["shortfall"]) == (400, 80)
    assert (short.path, short.severity.value) == ("lines[1].quantity", "high")
    assert short.evidence["recommended_action"] == "backorder_remaining"
    assert (short.evidence["drawn_by_earlier_lines"], short.evidence["available"]) == (Decimal(480), Decimal(220))
    assert short.evidence["shortfall"] == Decimal(140)


def test_serving_warehouse_with_enough_stock_is_quiet():
    po = with_lines(golden("po_clean"), {"quantity": Decimal(30)})  # 360 EA from EAST's 400
    assert detect_inventory(po, context()) == []


def test_contract_priced_in_base_unit_is_converted_to_the_line_unit():
    # W-200 is listed per EA at 12.00; a case of 6 should cost 72.00.
    po = with_lines(golden("po_clean"), {"buyer_item": None, "vendor_item": "W-200", "uom": "CA",
                                         "quantity": Decimal(1), "unit_price": Decimal("75.00")})
    (found,) = detect_order_price(po, context())
    assert (found.evidence["contract_price"], found.evidence["difference_percent"]) == (Decimal("72.00"), Decimal("4.17"))
    quiet = with_lines(golden("po_clean"), {"buyer_item": None, "vendor_item": "W-200", "uom": "CA",
                                            "quantity": Decimal(1), "unit_price": Decimal("72.00")})
    assert detect_order_price(quiet, context()) == []


def test_prices_in_another_currency_are_not_compared():
    po = golden("po_price").model_copy(update={"currency": "EUR"})
    assert detect_order_price(po, context()) == []


def test_price_below_cost_is_in_the_evidence():
    po = with_lines(golden("po_price"), {"vendor_item": "W-200", "unit_price": Decimal("9.00"), "quantity": Decimal(2)})
    (found,) = detect_order_price(po, context())
    assert found.evidence["below_cost_by"] == Decimal("2.00")  # cost 10.00
    assert found.evidence["margin_at_risk"] == Decimal("6.00")  # (12.00 - 9.00) x 2


def test_split_invoice_lines_are_summed_per_order_line():
    inv = golden("inv_ok")
    half = inv.lines[0].model_copy(update={"quantity": Decimal(50), "amount": Decimal("200.00")})
    split = inv.model_copy(update={"lines": [half, half.model_copy(update={"line_number": "1b"}), inv.lines[1]]})
    assert detect_invoice_match(split, context("po_to_supplier", "asn_full", partner="SUPPLY")) == []
    over = split.model_copy(update={"lines": [*split.lines, half.model_copy(update={"line_number": "1c"})]})
    (found,) = detect_invoice_match(over, context("po_to_supplier", "asn_full", partner="SUPPLY"))
    assert (found.path, found.evidence["invoiced"], found.amount_at_risk) == ("lines[0].quantity", 150, Decimal("200.00"))


def test_invoice_without_shipment_is_matched_to_the_order():
    inv = golden("inv_mismatch").model_copy(update={"shipment_id": None})
    qty, _price = detect_invoice_match(inv, context("po_to_supplier", partner="SUPPLY"))
    assert (qty.evidence["basis"], qty.evidence["ordered"]) == ("ordered", Decimal(100))


def test_supplier_cross_reference_wins_over_our_own_number():
    data = parse_refdata_json(b'{"items": [{"item_number": "X-1"}, {"item_number": "X-2",'
                              b' "vendor_refs": [{"partner_id": "SUPPLY", "item": "X-1"}]}]}')
    ref = InMemoryReferenceData(data)
    assert ref.find_item(vendor_item="X-1", partner_id="SUPPLY").item_number == "X-2"
    assert ref.find_item(vendor_item="X-1", partner_id="ACME").item_number == "X-1"


def test_csv_row_with_surplus_cells_is_named():
    with pytest.raises(RefDataImportError) as err:
        parse_refdata_csv("stock", b"item_number,warehouse,on_hand\nW-1,EAST,1,oops\n")
    assert [(f.path, f.code) for f in err.value.findings] == [("row 2", "extra_cells")]


def test_order_in_cases_validates_against_item_units():
    report = validate_document(golden("po_shortage"), refdata(), today=TODAY)
    assert report.findings == ()
