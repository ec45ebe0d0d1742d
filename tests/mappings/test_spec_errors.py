"""A bad map is refused when it is loaded, naming the file and the place inside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from canonical.errors import ConfigurationError
from mappings.spec import BUILTIN_DIR, load_spec

GOOD = """
standard: x12
set_id: "850"
document: purchase_order
versions: ["004010"]
codes: {uom: {}}
rules:
  - segment: BEG
    elements: {3: po_number, 5: {field: order_date, transform: "date:CCYYMMDD"}}
  - loop: PO1
    field: lines
    repeat: true
    elements: {1: line_number, 3: {field: uom, codes: uom}}
    segments:
      - segment: PID
        elements: {5: description}
"""


def _load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "partner_850.yaml"
    path.write_text(text)
    return load_spec(path)


def test_a_good_map_loads(tmp_path: Path) -> None:
    spec = _load(tmp_path, GOOD)
    assert spec.set_id == "850" and len(spec.rules) == 2


@pytest.mark.parametrize(
    ("broken", "where"),
    [
        (GOOD.replace("standard: x12", "standard: x13"), "standard"),
        (GOOD.replace("{5: description}", "{5: description, colour: red}"), "rules.1.loop.segments.0.segment.elements.colour"),
        (GOOD.replace("{5: description}", "{0: description}"), "rules.1.loop.segments.0.segment"),
        (GOOD.replace('transform: "date:CCYYMMDD"', 'transform: "date:DDMMYY"'), "rules.0.elements.5.transform"),
        (GOOD.replace("codes: uom}", "codes: units}"), "rules.1.elements.3.codes"),
        (GOOD.replace("3: po_number,", "3: {field: po_number, const: X},"), "rules.0.segment.elements.3"),
        (GOOD.replace("  - segment: BEG", "  - segmnt: BEG"), "rules.0"),
        (GOOD.replace("    repeat: true\n", "    repeat: true\n    segmentz: []\n"), "rules.1.loop.segmentz"),
    ],
)
def test_bad_map_is_refused_with_file_and_path(tmp_path: Path, broken: str, where: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        _load(tmp_path, broken)
    assert "partner_850.yaml" in str(err.value)
    paths = [f.path for f in err.value.findings]
    assert any(p.startswith(where) for p in paths), paths


def test_unparseable_yaml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="partner_850.yaml"):
        _load(tmp_path, "rules: [unclosed")


def test_every_builtin_map_loads() -> None:
    maps = sorted(BUILTIN_DIR.glob("*.yaml"))
    assert len(maps) >= 10
    for path in maps:
        if path.stem.startswith(("x12_", "edifact_")):
            load_spec(path)
