"""Version sections: one map serves 004010 and 005010, with small differences as data."""

from __future__ import annotations

from pathlib import Path

import pytest

import mappings.spec
from canonical.errors import ConfigurationError
from connectors.formats.model import Transaction
from connectors.formats.segments import Segment
from mappings.engine import load_map

MAP = """
standard: x12
set_id: "850"
document: purchase_order
versions: ["004010", "005010"]
codes: {uom: {}}
version_overrides:
  "005010": {uom: {CT: CA}}
rules:
  - segment: BEG
    elements: {3: po_number, 5: {field: order_date, transform: "date:CCYYMMDD"}}
  - loop: N1
    when: {1: BY}
    field: buyer
    elements: {4: id}
  - loop: PO1
    field: lines
    repeat: true
    elements: {1: line_number, 2: {field: quantity, transform: decimal}, 3: {field: uom, codes: uom}}
    ids: {start: 6, map: {VP: vendor_item}}
"""


@pytest.fixture
def builtin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "x12_850.yaml").write_text(MAP)
    monkeypatch.setattr(mappings.spec, "BUILTIN_DIR", tmp_path)
    return tmp_path


def _tx() -> Transaction:
    segs = [Segment.simple("ST", "850", "0001"), Segment.simple("BEG", "00", "SA", "PO-1", "", "20261123"),
            Segment.simple("N1", "BY", "", "92", "B1"),
            Segment.simple("PO1", "1", "2", "CT", "1", "", "VP", "W-1"), Segment.simple("SE", "5", "0001")]
    for i, s in enumerate(segs, 1):
        s.position = i
    return Transaction("850", "0001", segs)


def test_version_section_applies_only_to_its_version(builtin: Path) -> None:
    assert load_map("x12", "850", "inbound", version="004010").to_canonical(_tx()).lines[0].uom == "CT"
    assert load_map("x12", "850", "inbound", version="005010X220").to_canonical(_tx()).lines[0].uom == "CA"


def test_partner_overrides_win_over_the_version_section(builtin: Path) -> None:
    m = load_map("x12", "850", "inbound", version="005010", overrides={"uom": {"CT": "CS"}}, partner="P")
    assert m.to_canonical(_tx()).lines[0].uom == "CS"


def test_a_version_the_map_does_not_cover_is_refused(builtin: Path) -> None:
    with pytest.raises(ConfigurationError, match="003040"):
        load_map("x12", "850", "inbound", version="003040")


def test_an_unknown_map_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="no builtin map"):
        load_map("x12", "940", "inbound")


def test_loading_in_one_direction_and_using_the_other_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="inbound"):
        load_map("x12", "850", "inbound").from_canonical(None)  # type: ignore[arg-type]
