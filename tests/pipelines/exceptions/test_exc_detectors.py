"""Each detector fires on a golden document that should trip it and stays quiet on one that should not."""

from __future__ import annotations

from decimal import Decimal

import pytest
from exc_support import context, golden

from pipelines.exceptions import Severity, detect_all, exception_type
from pipelines.exceptions.detectors import (
    detect_ack_changed,
    detect_ack_price,
    detect_ack_unknown_order,
    detect_asn_variance,
    detect_credit_hold,
    detect_duplicate_invoice,
    detect_duplicate_order,
    detect_inventory,
    detect_invoice_match,
    detect_invoice_totals,
    detect_order_price,
)

SUPPLIER = {"partner": "SUPPLY"}

# (id, detector, document, held documents, confirmed 855s, partner rules, expected (code, path))
CASES = [
    ("shortage", detect_inventory, "po_shortage", (), (), {},
     [("inventory_shortage", "lines[0].quantity"), ("inventory_shortage", "lines[1].quantity")]),
    ("negative-stock", detect_inventory, "po_negative_stock", (), (), {},
     [("negative_available_stock", "lines[0]"), ("inventory_shortage", "lines[0].quantity")]),
    ("inventory-quiet", detect_inventory, "po_clean", (), (), {}, []),
    ("price-vs-contract", detect_order_price, "po_price", (), (), {},
     [("price_discrepancy", "lines[0].unit_price"), ("price_discrepancy", "lines[1].unit_price")]),
    ("price-quiet", detect_order_price, "po_clean", (), (), {}, []),
    ("credit-status-hold", detect_credit_hold, "po_credit_hold", (), (), {}, [("credit_hold", None)]),
    ("credit-over-limit", detect_credit_hold, "po_over_limit", (), (), {}, [("credit_hold", None)]),
    ("credit-quiet", detect_credit_hold, "po_clean", (), (), {}, []),
    ("dup-same-number", detect_duplicate_order, "po_dup_number", ("po_clean",), (), {},
     [("duplicate_order", None)]),
    ("dup-same-content", detect_duplicate_order, "po_dup_content", ("po_clean",), (), {},
     [("duplicate_order", None)]),
    ("dup-outside-window", detect_duplicate_order, "po_dup_content", ("po_clean",), (),
     {"duplicate_window_days": 0}, []),
    ("dup-replay-quiet", detect_duplicate_order, "po_clean", ("po_clean", "po_price"), (), {}, []),
    ("ack-price", detect_ack_price, "ack_price", ("po_to_supplier",), (), SUPPLIER,
     [("price_discrepancy", "lines[1].unit_price")]),
    ("ack-price-quiet", detect_ack_price, "ack_ok", ("po_to_supplier",), (), SUPPLIER, []),
    ("ack-changed", detect_ack_changed, "ack_changed", ("po_to_supplier",), ("ack_ok",), SUPPLIER,
     [("ack_changed_after_confirmation", None)]),
    ("ack-replayed-quiet", detect_ack_changed, "ack_ok", ("po_to_supplier",), ("ack_ok",), SUPPLIER, []),
    ("ack-first-quiet", detect_ack_changed, "ack_changed", ("po_to_supplier",), (), SUPPLIER, []),
    ("ack-unknown-po", detect_ack_unknown_order, "ack_unknown_po", ("po_to_supplier",), (), SUPPLIER,
     [("unknown_purchase_order", "po_number")]),
    ("ack-known-po-quiet", detect_ack_unknown_order, "ack_ok", ("po_to_supplier",), (), SUPPLIER, []),
    ("asn-variance", detect_asn_variance, "asn_variance", ("po_to_supplier",), (), SUPPLIER, [
        ("asn_wrong_ship_to", "ship_to.id"),
        ("asn_substituted_item", "orders[0].packs[0].items[1]"),
        ("asn_unknown_item", "orders[0].packs[1].items[0]"),
        ("asn_short_shipment", "orders[0].packs[0].items[0].quantity"),
    ]),
    ("asn-over-in-cases", detect_asn_variance, "asn_over", ("po_to_supplier",), (), SUPPLIER,
     [("asn_over_shipment", "orders[0].packs[0].items[0].quantity")]),
    ("asn-quiet", detect_asn_variance, "asn_full", ("po_to_supplier",), (), SUPPLIER, []),
    ("asn-second-partial-quiet", detect_asn_variance, "asn_partial_2", ("po_to_supplier", "asn_partial_1"),
     (), SUPPLIER, []),
    ("asn-partial-alone-short", detect_asn_variance, "asn_partial_2", ("po_to_supplier",), (), SUPPLIER, [
        ("asn_short_shipment", "orders[0].packs[0].items[0].quantity"),
        ("asn_short_shipment", "orders[0]"),
    ]),
    ("asn-partial-not-ship-complete", detect_asn_variance, "asn_partial_2", ("po_to_supplier",), (),
     {**SUPPLIER, "ship_complete": False}, []),
    ("asn-unknown-po", detect_asn_variance, "asn_unknown_po", ("po_to_supplier",), (), SUPPLIER,
     [("unknown_purchase_order", "orders[0].po_number")]),
    ("invoice-totals", detect_invoice_totals, "inv_mismatch", (), (), SUPPLIER,
     [("invoice_totals_mismatch", "totals.total_amount")]),
    ("invoice-totals-quiet", detect_invoice_totals, "inv_ok", (), (), SUPPLIER, []),
    ("invoice-3way", detect_invoice_match, "inv_mismatch", ("po_to_supplier", "asn_full"), (), SUPPLIER, [
        ("invoice_quantity_mismatch", "lines[0].quantity"),
        ("invoice_price_mismatch", "lines[1].unit_price"),
    ]),
    ("invoice-3way-quiet", detect_invoice_match, "inv_ok", ("po_to_supplier", "asn_full"), (), SUPPLIER, []),
    ("dup-invoice-number", detect_duplicate_invoice, "inv_dup_number", ("inv_ok",), (), SUPPLIER,
     [("duplicate_invoice", "invoice_number")]),
    ("dup-invoice-bill", detect_duplicate_invoice, "inv_dup_bill", ("inv_ok",), (), SUPPLIER,
     [("duplicate_invoice", None)]),
    ("dup-invoice-quiet", detect_duplicate_invoice, "inv_ok", ("inv_mismatch",), (), SUPPLIER, []),
]


@pytest.mark.parametrize(("detector", "doc", "held", "confirmed", "rules", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_detector(detector, doc, held, confirmed, rules, expected):
    found = detector(golden(doc), context(*held, confirmed=confirmed, **rules))
    assert [(d.code, d.path) for d in found] == expected
    for d in found:
        exception_type(d.code)  # every code is in the taxonomy
        assert d.document in d.message
        if d.path:
            assert d.path in d.message


def test_shortage_evidence_and_amount_at_risk():
    line0, line1 = detect_inventory(golden("po_shortage"), context())
    assert line0.evidence["ordered"] == Decimal(1200)  # 100 CA x 12
    assert line0.evidence["available"] == Decimal(700)
    assert line0.evidence["available_by_warehouse"] == {"EAST": Decimal(400), "WEST": Decimal(300)}
    assert line0.amount_at_risk == Decimal("2416.67")  # 500 EA at 58.00 per 12
    assert line1.evidence["shortfall"] == Decimal(3) and line1.amount_at_risk == Decimal("36.00")


def test_price_within_tolerance_is_low_beyond_is_default():
    within, beyond = detect_order_price(golden("po_price"), context())
    assert (within.severity, within.evidence["difference_percent"]) == (Severity.LOW, Decimal("0.40"))
    assert beyond.severity is Severity.MEDIUM and beyond.evidence["within_tolerance"] is False
    assert beyond.amount_at_risk == Decimal("2.00")


def test_duplicate_rules_are_named_in_evidence():
    (same_number,) = detect_duplicate_order(golden("po_dup_number"), context("po_clean"))
    (same_content,) = detect_duplicate_order(golden("po_dup_content"), context("po_clean"))
    assert same_number.evidence["rule"] == "same_number_different_content"
    assert same_content.evidence["rule"] == "same_content_new_number"
    assert same_content.evidence["other_po_number"] == "PO-1001"
    assert same_content.related == ("purchase_order ACME/PO-1001 rev 0",)


def test_ack_change_lists_changed_fields():
    (found,) = detect_ack_changed(golden("ack_changed"), context("po_to_supplier", confirmed=["ack_ok"]))
    changes = found.evidence["changes"]
    assert set(changes) == {"1", "status"}
    assert changes["1"]["quantity"] == {"was": Decimal(100), "now": Decimal(80)}
    assert "quantity 100→80" in found.message


def test_invoice_mismatch_numbers():
    ctx = context("po_to_supplier", "asn_full", **SUPPLIER)
    qty, price = detect_invoice_match(golden("inv_mismatch"), ctx)
    assert (qty.evidence["invoiced"], qty.evidence["shipped"], qty.amount_at_risk) == (110, 100, Decimal("40.00"))
    assert (price.evidence["invoiced_price"], price.amount_at_risk) == (Decimal("9.90"), Decimal("20.00"))
    (totals,) = detect_invoice_totals(golden("inv_mismatch"), ctx)
    assert (totals.evidence["stated"], totals.evidence["computed"]) == (Decimal("1000.00"), Decimal("1005.00"))


def test_asn_over_converts_cases_to_order_units():
    (over,) = detect_asn_variance(golden("asn_over"), context("po_to_supplier", **SUPPLIER))
    assert over.evidence["shipped_total"] == Decimal(108)
    assert over.amount_at_risk == Decimal("32.00")


@pytest.mark.parametrize(("doc", "held", "codes"), [
    ("po_clean", ("po_clean",), []),
    ("po_shortage", (), ["inventory_shortage", "inventory_shortage"]),
    ("po_credit_hold", (), ["credit_hold"]),
    ("asn_variance", ("po_to_supplier",), ["asn_wrong_ship_to", "asn_substituted_item", "asn_unknown_item",
                                            "asn_short_shipment"]),
    ("inv_mismatch", ("po_to_supplier", "asn_full"), ["invoice_totals_mismatch", "invoice_quantity_mismatch",
                                                       "invoice_price_mismatch"]),
    ("ack_price", ("po_to_supplier",), ["price_discrepancy"]),
])
def test_detect_all_runs_the_detectors_of_the_document_type(doc, held, codes):
    partner = "SUPPLY" if not doc.startswith("po_") else "ACME"
    assert [d.code for d in detect_all(golden(doc), context(*held, partner=partner))] == codes


def test_detection_becomes_a_business_exception():
    (found,) = detect_credit_hold(golden("po_credit_hold"), context())
    exc = found.to_exception()
    assert (exc.code, exc.severity, exc.partner) == ("credit_hold", "high", "BOLT")
    assert exc.describe()["details"]["amount_at_risk"] == "5.00"


def test_recommended_action_comes_from_evidence_or_taxonomy():
    (short,) = [d for d in detect_inventory(golden("po_shortage"), context()) if d.path == "lines[1].quantity"]
    assert short.recommended_action == "backorder_remaining"
    (hold,) = detect_credit_hold(golden("po_credit_hold"), context())
    assert hold.recommended_action == "hold_for_credit_review"
