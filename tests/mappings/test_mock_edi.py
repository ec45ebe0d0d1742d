"""What Crossdock writes passes mock-edi's validation (our reference trading partner).

mock-edi 0.9.0's dictionary lacks three things the maps can write: MAN (856 SSCC), GIN
(DESADV SSCC) and TAX (INVOIC tax groups), and REF*PP / RFF+PP (revision numbers). For a
partner like it, the profile omits those rules; the tests show both sides of that. Nor does
it know ACK01 BP (a line partly shipped now, the balance backordered) in an 855 or an 865:
its profile writes IQ instead (``tests.support.mock_edi.MAP_OVERRIDES``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from canonical.registry import model_for
from mappings.engine import load_map
from tests.mappings.edi import GOLDEN, read, standard_of, to_bytes
from tests.support.mock_edi import MAP_OVERRIDES

mockedi = pytest.importorskip("mockedi")
from mockedi import edifact as mock_edifact  # noqa: E402
from mockedi import validate as mock_validate  # noqa: E402
from mockedi import x12 as mock_x12  # noqa: E402

# Sets the mock receives from a seller, and the golden documents shaped like them.
ANSWERS = ["x12_855_004010", "x12_865_004010", "x12_856_004010", "x12_810_004010",
           "edifact_ORDRSP_D96A", "edifact_ORDRSP_change_D96A", "edifact_DESADV_D96A",
           "x12_850_004010", "x12_860_004010", "edifact_ORDERS_D96A", "edifact_ORDCHG_D96A",
           "x12_860_add_delete_005010", "edifact_ORDCHG_add_delete_D96A"]


def _findings(name: str, overrides: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    path = GOLDEN / f"{name}.edi"
    std = standard_of(path)
    [(_ic, _group, tx)] = read(path)
    expected = json.loads(path.with_suffix(".json").read_text())
    doc = model_for(expected["document_type"]).model_validate(expected)
    m = load_map(std, tx.set_id, "outbound", version=tx.version, overrides=overrides, partner="MOCKEDI")
    payload = to_bytes(std, m.build_transaction(doc, control_number="0042"),
                       sender="CROSSDOCK", receiver="MOCKEDI")
    parsed = (mock_x12 if std == "x12" else mock_edifact).parse(payload.decode())
    report = mock_validate.validate(parsed)
    assert not report.envelope_errors
    return [(f.tag, f.note) for message in report.messages for f in message.findings]


@pytest.mark.parametrize("name", ANSWERS)
def test_mock_edi_files_what_we_write_without_findings(name: str) -> None:
    set_id = name.split("_")[1]
    assert _findings(name, MAP_OVERRIDES.get(set_id)) == []


@pytest.mark.parametrize(("set_id", "written"), [
    ("855", ["IA*12", "IQ*6", "IB*4", "IR*0"]),  # line 2 ships 6 of 10 now: BP 6 + IB 4
    ("865", ["IA*16", "IQ*5", "IB*3"]),  # line 3 ships 5 of 8 now: BP 5 + IB 3
])
def test_a_partial_backorder_is_bp_and_the_mock_profile_writes_iq(set_id: str, written: list[str]) -> None:
    """A golden answer with a line partly filled now; mock-edi knows no BP."""
    assert _findings(f"x12_{set_id}_004010") == [("ACK", "ACK has data element errors")]
    path = GOLDEN / f"x12_{set_id}_004010.edi"
    doc = model_for("order_acknowledgment").model_validate(json.loads(path.with_suffix(".json").read_text()))
    acks = [s.elements[0][0][0] + "*" + s.elements[1][0][0] for s in
            load_map("x12", set_id, "outbound", overrides=MAP_OVERRIDES[set_id]).from_canonical(doc)
            if s.tag == "ACK"]
    assert acks == written


@pytest.mark.parametrize(
    ("name", "omit", "tag"),
    [("x12_856_sscc_005010", "sscc", "MAN"), ("edifact_DESADV_sscc_D96A", "sscc", "GIN"),
     ("edifact_INVOIC_D96A", "tax", "TAX")],
)
def test_segments_the_mock_lacks_are_omitted_by_partner_profile(name: str, omit: str, tag: str) -> None:
    if name == "edifact_INVOIC_D96A":
        assert _findings(name) == [(tag, f"{tag} is not a segment this transaction set defines")]
    else:
        assert {t for t, _ in _findings(name)} == {tag}
    assert _findings(name, {"rules": {omit: {"omit": True}}}) == []


def test_omitted_sscc_packs_are_written_under_the_order() -> None:
    path: Path = GOLDEN / "x12_856_sscc_005010.edi"
    expected = json.loads(path.with_suffix(".json").read_text())
    doc = model_for("ship_notice").model_validate(expected)
    body = load_map("x12", "856", "outbound", overrides={"rules": {"sscc": {"omit": True}}}).from_canonical(doc)
    levels = [s.get(3) for s in body if s.tag == "HL"]
    assert levels == ["S", "O", "I", "I", "I"]
