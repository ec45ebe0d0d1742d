"""Validation over reference data: data errors, master-data gaps and business findings."""

from __future__ import annotations

import pytest
from exc_support import TODAY, golden, refdata

from canonical.errors import ValidationFailed
from pipelines.exceptions import Owner, exception_type, validate_document

EXPECTED = [  # (path, code) in the order the rules report them
    ("lines[0].vendor_item", "unknown_item"),
    ("lines[1].uom", "unknown_unit"),
    ("requested_delivery_date", "date_in_past"),
    ("ship_to.id", "unknown_ship_to"),
    ("lines[2].unit_price", "price_discrepancy"),
]


def test_findings_name_line_and_field():
    report = validate_document(golden("po_validation"), refdata(), today=TODAY)
    assert [(f.path, f.code) for f in report.findings] == EXPECTED
    assert [f.code for f in report.master_data_gaps] == ["unknown_item", "unknown_unit", "unknown_ship_to"]
    assert [f.code for f in report.data_errors] == ["date_in_past"]
    assert [f.code for f in report.business_findings] == ["price_discrepancy"]
    assert report.findings[0].value == "W-404"
    assert "PL" in report.findings[1].message and "EA, CA" in report.findings[1].message


def test_master_data_gaps_become_cases_for_master_data():
    report = validate_document(golden("po_validation"), refdata(), today=TODAY)
    detections = report.detections()
    assert [d.code for d in detections] == ["unknown_item", "unknown_unit", "unknown_ship_to", "price_discrepancy"]
    assert {exception_type(d.code).owner for d in detections[:3]} == {Owner.MASTER_DATA}
    assert detections[0].path == "lines[0].vendor_item"


def test_data_errors_raise_validation_failed_naming_fields():
    report = validate_document(golden("po_validation"), refdata(), today=TODAY)
    with pytest.raises(ValidationFailed) as err:
        report.raise_for_data_errors()
    assert [f.path for f in err.value.findings] == ["requested_delivery_date"]


@pytest.mark.parametrize("doc", ["po_clean", "ack_ok", "asn_full", "inv_ok"])
def test_clean_documents_have_no_findings(doc):
    report = validate_document(golden(doc), refdata(), today=TODAY)
    assert report.findings == ()
    report.raise_for_data_errors()


def test_unknown_customer_and_credit_hold():
    po = golden("po_credit_hold")
    assert [f.code for f in validate_document(po, refdata(), today=TODAY).findings] == ["credit_hold"]
    stranger = po.model_copy(update={"buyer": po.buyer.model_copy(update={"id": "NOBODY"})})
    assert [(f.path, f.code) for f in validate_document(stranger, refdata(), today=TODAY).findings] == [
        ("buyer.id", "unknown_customer")]


def test_quantity_must_be_positive():
    ack = golden("ack_ok")
    bad_line = ack.lines[0].model_copy(update={"quantity": -1})
    ack = ack.model_copy(update={"lines": [bad_line, *ack.lines[1:]]})
    report = validate_document(ack, refdata(), today=TODAY)
    assert [(f.path, f.code) for f in report.data_errors] == [("lines[0].quantity", "quantity_not_positive")]


def test_supplier_item_numbers_resolve_through_vendor_cross_refs():
    report = validate_document(golden("asn_variance"), refdata(), today=TODAY)
    assert [(f.path, f.code) for f in report.findings] == [
        ("orders[0].packs[0].items[1].vendor_item", "unknown_item"),
        ("orders[0].packs[1].items[0].vendor_item", "unknown_item")]
