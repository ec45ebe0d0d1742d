"""Syntax validation rules, each shown firing and not firing (table-driven)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.formats import edifact, x12
from connectors.formats.model import Interchange
from connectors.formats.validator import validate_interchange

GOLDEN = Path(__file__).parent / "golden" / "in"
X850 = (GOLDEN / "x12_850_004010.edi").read_bytes()
X856 = (GOLDEN / "x12_856_004010.edi").read_bytes()
ORDERS = (GOLDEN / "edifact_orders_d96a.edi").read_bytes()


def _found(data: bytes) -> set[tuple[str, str | None, int | None, int | None, int | None]]:
    module = x12 if data.startswith(b"ISA") else edifact
    [ic] = list(module.read(data, partner="acme"))
    validate_interchange(ic, partner="acme")
    return {(f.code, f.segment_id, f.segment_position, f.element_position, f.component_position)
            for f in _findings(ic)}


def _findings(ic: Interchange) -> list:  # type: ignore[type-arg]
    return [f for t in ic.transactions() for f in t.findings]


def _edit(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data, old
    return data.replace(old, new, 1)


# (name, document, old, new, expected finding) — the expected finding's absence is
# checked on the unedited golden by test_goldens_are_clean below.
X12_RULES = [
    ("mandatory segment missing", X850, b"BEG*00*SA*PO-45001**20240115~\n", b"",
     ("x12.ak3.3", "BEG", 2, None, None)),
    ("unrecognized segment", X850, b"CUR*BY*USD~", b"CUR*BY*USD~\nZZQ*1~",
     ("x12.ak3.1", "ZZQ", 4, None, None)),
    ("segment of another set", X850, b"CUR*BY*USD~", b"CUR*BY*USD~\nBSN*00*X*20240115*1200~",
     ("x12.ak3.7", "BSN", 4, None, None)),
    ("segment out of order", X850, b"FOB*PP~", b"FOB*PP~\nBEG*00*SA*PO-1**20240115~",
     ("x12.ak3.2", "BEG", 8, None, None)),
    ("segment over max use", X850, b"CUR*BY*USD~", b"CUR*BY*USD~\nCUR*BY*USD~",
     ("x12.ak3.5", "CUR", 4, None, None)),
    ("mandatory element missing", X850, b"BEG*00*SA*", b"BEG*00**",
     ("x12.ak4.1", "BEG", 2, 2, None)),
    ("element too short", X850, b"REF*DP*042", b"REF*D*042", ("x12.ak4.4", "REF", 4, 1, None)),
    ("element too long", X850, b"BEG*00*SA*PO-45001*", b"BEG*00*SA*" + b"9" * 23 + b"*",
     ("x12.ak4.5", "BEG", 2, 3, None)),
    ("invalid character in a number", X850, b"PO1*1*", b"PO1*1*X",
     ("x12.ak4.6", None, None, None, None)),
    ("invalid code BEG01", X850, b"BEG*00*", b"BEG*99*", ("x12.ak4.7", "BEG", 2, 1, None)),
    ("invalid code BEG02", X850, b"BEG*00*SA*", b"BEG*00*XX*", ("x12.ak4.7", "BEG", 2, 2, None)),
    ("invalid code N101", X850, b"N1*BT*", b"N1*QQ*", ("x12.ak4.7", "N1", 11, 1, None)),
    ("invalid date", X850, b"**20240115~", b"**20240231~", ("x12.ak4.8", "BEG", 2, 5, None)),
    ("invalid time", X856, b"*20240120*1430*", b"*20240120*2561*", ("x12.ak4.9", "BSN", 2, 4, None)),
    ("invalid code BSN01", X856, b"BSN*00*", b"BSN*AA*", ("x12.ak4.7", "BSN", 2, 1, None)),
    ("invalid HL03", X856, b"HL*1**S", b"HL*1**Z", ("x12.ak4.7", "HL", 4, 3, None)),
]


@pytest.mark.parametrize(("name", "data", "old", "new", "expected"), X12_RULES,
                         ids=[r[0] for r in X12_RULES])
def test_x12_rule_fires(name: str, data: bytes, old: bytes, new: bytes,
                        expected: tuple[str, str | None, int | None, int | None, None]) -> None:
    found = _found(_edit(data, old, new))
    if expected[1] is None:  # only the code matters (position depends on the line)
        assert expected[0] in {f[0] for f in found}
    else:
        assert expected in found


EDIFACT_RULES = [
    ("mandatory segment missing", b"BGM+220+PO45001+9'\n", b"", ("edifact.0085.13", "BGM", 2,
                                                                   None, None)),
    ("mandatory UNS missing", b"UNS+S'\n", b"", ("edifact.0085.13", "UNS", 113, None, None)),
    ("segment over max use", b"UNS+S'", b"UNS+S'UNS+S'", ("edifact.0085.35", "UNS", 114, None,
                                                         None)),
    ("segment out of place", b"UNS+S'", b"BGM+220+X+9'UNS+S'", ("edifact.0085.15", "BGM", 113,
                                                                None, None)),
    ("unknown segment in D96A", b"UNS+S'", b"XYZ+1'UNS+S'", ("edifact.0085.15", "XYZ", 113, None,
                                                            None)),
    ("invalid code 1225", b"BGM+220+PO45001+9'", b"BGM+220+PO45001+99'",
     ("edifact.0085.12", "BGM", 2, 3, None)),
    ("invalid numeric character", b"CNT+2:20'", b"CNT+2:2O'", ("edifact.0085.37", "CNT", 114, 1, 2)),
    ("missing digit before decimal", b"CNT+2:20'", b"CNT+2:.5'", ("edifact.0085.38", "CNT", 114, 1,
                                                                  2)),
    ("mandatory element missing", b"NAD+SU+", b"NAD++", ("edifact.0085.13", "NAD", 10, 1, None)),
    ("mandatory component missing", b"CNT+2:20'", b"CNT+2'", ("edifact.0085.13", "CNT", 114, 1,
                                                              2)),
    ("too long", b"RFF+CT:CONTRACT-77'", b"RFF+CT:" + b"C" * 36 + b"'",
     ("edifact.0085.39", "RFF", 6, 1, 2)),
    ("too short (fixed length)", b"UNS+S'", b"UNS+'", ("edifact.0085.13", "UNS", 113, 1, None)),
    ("invalid date for its format", b"DTM+137:20240115:102'", b"DTM+137:20240231:102'",
     ("edifact.0085.12", "DTM", 3, 1, 2)),
    ("alphabetic element with digits", b"UNS+S'", b"UNS+1'", ("edifact.0085.37", "UNS", 113, 1,
                                                             None)),
]


@pytest.mark.parametrize(("name", "old", "new", "expected"), EDIFACT_RULES,
                         ids=[r[0] for r in EDIFACT_RULES])
def test_edifact_rule_fires(name: str, old: bytes, new: bytes,
                            expected: tuple[str, str, int, int | None, int | None]) -> None:
    data = _edit(ORDERS, old, new)
    delta = new.count(b"'") - old.count(b"'")
    data = data.replace(b"UNT+115+1", f"UNT+{115 + delta}+1".encode())
    assert expected in _found(data)


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.iterdir()
                                        if "violation" not in p.name))
def test_goldens_are_clean(name: str) -> None:
    assert _found((GOLDEN / name).read_bytes()) == set()


@pytest.mark.parametrize(("old", "new"), [
    (b"PO1*1*", b"PO1*1*"),  # unchanged line
    (b"*EA*", b"*ZZ*"),  # units of measure are an open list
    (b"REF*DP*042", b"REF*DP*" + b"9" * 50),  # 005010 length accepted
    (b"DTM*002*20240125", b"DTM*002*20240125*1230"),  # optional time present and valid
])
def test_x12_rule_does_not_fire_on_valid_variations(old: bytes, new: bytes) -> None:
    assert _found(_edit(X850, old, new)) == set()


@pytest.mark.parametrize(("old", "new"), [
    (b"NAD+SU+", b"NAD+ZZZ+"),  # party qualifiers are open
    (b"CNT+2:20'", b"CNT+2:20,0'"),  # a decimal comma is a decimal mark
    (b"QTY+21:", b"QTY+21:-"),  # a sign is not a digit
])
def test_edifact_rule_does_not_fire_on_valid_variations(old: bytes, new: bytes) -> None:
    assert _found(_edit(ORDERS, old, new)) == set()


def test_unsupported_set_is_reported() -> None:
    data = X850.replace(b"ST*850*", b"ST*875*")
    assert ("x12.ak5.1", None, None, None, None) in _found(data)


def test_findings_name_partner_interchange_set_segment_and_element() -> None:
    [ic] = list(x12.read(_edit(X850, b"BEG*00*", b"BEG*99*"), partner="acme"))
    validate_interchange(ic, partner="acme")
    [f] = _findings(ic)
    assert f.path == "partner acme / ISA 000000101 / ST 850 0001 / BEG at 2 / element 01"
    assert (f.code, f.value) == ("x12.ak4.7", "99")
