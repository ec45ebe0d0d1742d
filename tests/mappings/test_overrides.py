"""Per-partner overrides change what a map reads and writes, and bad ones are refused."""

from __future__ import annotations

from typing import Any

import pytest

from canonical.errors import ConfigurationError
from mappings.engine import load_map, map_transaction, render
from tests.mappings.edi import GOLDEN, read, segments_text

PO_850 = GOLDEN / "x12_850_004010.edi"


def _po(overrides: dict[str, Any] | None, path=PO_850):  # type: ignore[no-untyped-def]
    [(ic, group, tx)] = read(path)
    return map_transaction(ic, group, tx, overrides=overrides, partner="ACME")


def _lines_out(doc, overrides: dict[str, Any], set_id: str = "850", std: str = "x12") -> list[str]:  # type: ignore[no-untyped-def]
    return segments_text(render(doc, std, set_id, overrides=overrides, partner="ACME"), std).splitlines()


def test_uom_table_maps_partner_codes_both_ways() -> None:
    plain, mapped = _po(None), _po({"uom": {"CS": "CA"}})
    assert plain.lines[0].uom == "CS"
    assert mapped.lines[0].uom == "CA"
    # Written back to this partner in its own code, not ours.
    assert "PO1*1*12*CS*24.50**VP*W-100*UP*036000291452" in _lines_out(mapped, {"uom": {"CS": "CA"}})
    assert "PO1*1*12*CA*24.50**VP*W-100*UP*036000291452" in _lines_out(mapped, {})


def test_edifact_uom_override_beats_the_builtin_table() -> None:
    [(ic, group, tx)] = read(GOLDEN / "edifact_ORDERS_D96A.edi")
    assert map_transaction(ic, group, tx).lines[0].uom == "CA"  # builtin: CT → CA
    doc = map_transaction(ic, group, tx, overrides={"uom": {"CT": "CT"}}, partner="ACME")
    assert doc.lines[0].uom == "CT"


def test_party_qualifier_override() -> None:
    doc = _po({"qualifiers": {"ship_to": "GLN"}})
    assert doc.ship_to is not None and doc.ship_to.qualifier == "GLN"
    out = _lines_out(doc, {"qualifiers": {"ship_to": "GLN"}})
    assert "N1*ST*Mock DC East*UL*DC-EAST" in out


def test_qualifier_code_list_override() -> None:
    doc = _po({"codes": {"id_qualifier": {"92": "GLN"}}})
    assert doc.buyer.qualifier == "GLN"


def test_item_cross_reference_adds_our_item_number() -> None:
    assert _po(None).lines[2].vendor_item is None
    doc = _po({"item_xref": {"MB-99": "W-999"}})
    assert doc.lines[2].vendor_item == "W-999"
    assert doc.lines[2].buyer_item == "MB-99"


def test_item_cross_reference_names_the_partner_item_on_the_way_out() -> None:
    doc = _po(None)
    line = doc.lines[2].model_copy(update={"buyer_item": None, "vendor_item": "W-999"})
    doc = doc.model_copy(update={"lines": [*doc.lines[:2], line]})
    out = _lines_out(doc, {"item_xref": {"MB-99": "W-999"}})
    assert "PO1*3*1*EA*100.00**VP*W-999*BP*MB-99" in out


def test_default_values_fill_what_the_document_leaves_out() -> None:
    path = GOLDEN / "edifact_ORDERS_D01B.edi"
    assert _po(None, path).seller is None
    doc = _po({"defaults": {"seller.id": "4098765000002", "seller.qualifier": "GLN"}}, path)
    assert doc.seller is not None and doc.seller.id == "4098765000002"
    # A value the document states is never overwritten by a default.
    assert _po({"defaults": {"currency": "USD"}}, path).currency == "EUR"


def test_replacing_a_field_rule() -> None:
    assert _po(None).requested_delivery_date is not None  # DTM*002
    rule = {"segment": "DTM", "when": {"1": "010"},
            "elements": {"2": {"field": "requested_delivery_date", "transform": "date:CCYYMMDD"}}}
    doc = _po({"rules": {"requested_delivery": rule}})
    assert doc.requested_delivery_date is None  # this partner's date is DTM*010, not 002
    original = _po(None)
    assert "DTM*010*20261201" in _lines_out(original, {"rules": {"requested_delivery": rule}})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"uom": {"CS": 5}}, "uom.CS"),
        ({"uomm": {"CS": "CA"}}, "uomm"),
        ({"defaults": {"shipto.id": "X"}}, "shipto.id"),
        ({"qualifiers": {"payer": "GLN"}}, "payer"),
        ({"codes": {"colour": {"R": "red"}}}, "codes.colour"),
        ({"rules": {"no_such_rule": {"segment": "DTM"}}}, "rules.no_such_rule"),
        ({"rules": {"requested_delivery": {"segment": "DTM", "elements": {"x": "y"}}}},
         "rules.requested_delivery"),
    ],
)
def test_bad_overrides_are_refused_naming_partner_and_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        load_map("x12", "850", "inbound", overrides=overrides, partner="ACME")
    assert err.value.partner == "ACME"
    assert "ACME" in str(err.value)
    assert any(f.path.startswith(field) for f in err.value.findings), err.value.findings
