"""Interchange, group and transaction fields as read, each against the header element it names.

The envelope readers build ``Interchange``, ``Group`` and ``Transaction`` with positional
arguments (cheaper than keywords); a field given in the wrong place would still type-check.
Here every field of every interchange, group and set read from the golden files, and from
copies with other values in every envelope element, is held against its definition: ISA05
is the sender qualifier, UNB 0007 the sender's, GS04 the group date, UNH S009 0057 the
association code...
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.formats import edifact, x12
from connectors.formats.model import Group, Interchange, Transaction
from connectors.formats.segments import Segment

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = sorted((Path(__file__).parent / "golden" / "in").glob("*.edi")) + sorted(
    (ROOT / "mappings" / "golden").glob("*.edi"))
X12 = [p for p in GOLDEN if p.read_bytes().lstrip()[:3] == b"ISA"]
EDIFACT = [p for p in GOLDEN if p not in X12]


def _isa(seg: Segment, n: int) -> str:
    return (seg.get(n) or "").strip()


def _check_x12(ic: Interchange) -> int:
    isa = ic.header
    assert isa is not None
    assert ic.standard == "x12"
    assert ic.sender_qualifier == (_isa(isa, 5) or None)
    assert ic.sender_id == _isa(isa, 6)
    assert ic.receiver_qualifier == (_isa(isa, 7) or None)
    assert ic.receiver_id == _isa(isa, 8)
    assert (ic.date, ic.time, ic.version, ic.control_number) == (
        _isa(isa, 9), _isa(isa, 10), _isa(isa, 12), _isa(isa, 13))
    assert ic.ack_requested == (_isa(isa, 14) == "1")
    assert ic.test == (_isa(isa, 15) == "T")
    checked = 0
    for group in ic.groups:
        gs = group.header
        if gs is not None:
            assert (group.functional_id, group.sender_id, group.receiver_id, group.date, group.time,
                    group.control_number, group.version) == tuple(gs.get(n) for n in (1, 2, 3, 4, 5, 6, 8))
            assert group.trailer is None or group.trailer.tag == "GE"
        for tx in group.transactions:
            st = tx.segments[0]
            assert st.tag == "ST"
            assert (tx.set_id, tx.control_number) == (st.get(1) or "", st.get(2) or "")
            assert tx.version == (st.get(3) or group.version)
            assert tx.association_code is None
            checked += 1
    return checked


def _check_edifact(ic: Interchange) -> int:
    unb = ic.header
    assert unb is not None
    assert ic.standard == "edifact"
    assert ic.version == ":".join(c for c in (unb.get(1, 1), unb.get(1, 2)) if c)
    assert (ic.sender_id, ic.sender_qualifier) == (unb.get(2) or "", unb.get(2, 2))
    assert (ic.receiver_id, ic.receiver_qualifier) == (unb.get(3) or "", unb.get(3, 2))
    assert (ic.date, ic.time) == (unb.get(4, 1) or "", unb.get(4, 2) or "")
    assert ic.control_number == (unb.get(5) or "")
    assert ic.ack_requested == (unb.get(9) == "1")
    assert ic.test == (unb.get(11) == "1")
    checked = 0
    for group in ic.groups:
        ung = group.header
        if ung is not None:
            assert (group.functional_id, group.sender_id, group.receiver_id, group.control_number) == (
                ung.get(1), ung.get(2), ung.get(3), ung.get(5))
            assert (group.date, group.time) == (ung.get(4, 1), ung.get(4, 2))
            assert group.version == (((ung.get(7, 1) or "") + (ung.get(7, 2) or "")) or None)
        else:
            assert (group.functional_id, group.sender_id, group.receiver_id, group.control_number,
                    group.version, group.date, group.time) == (None,) * 7
        for tx in group.transactions:
            unh = tx.segments[0]
            assert unh.tag == "UNH"
            assert (tx.set_id, tx.control_number) == (unh.get(2, 1) or "", unh.get(1) or "")
            assert tx.version == (((unh.get(2, 2) or "") + (unh.get(2, 3) or "")) or group.version)
            assert tx.association_code == unh.get(2, 5)
            checked += 1
    return checked


def _every_field_set(ic: Interchange) -> None:
    # The lists are the interchange's own, not shared with another interchange or default.
    for obj in (ic, *ic.groups, *(t for g in ic.groups for t in g.transactions)):
        assert isinstance(obj, Interchange | Group | Transaction)
        for f in dataclasses.fields(obj):
            if isinstance(getattr(obj, f.name), list):
                assert getattr(obj, f.name) is not getattr(type(obj), f.name, None)


def _varied(data: bytes, rnd: random.Random) -> bytes:
    """The same file with other values in the envelope's header elements."""
    text = data.decode("latin-1")
    for tag, values in (("GS*", ["PR", "SENDER2", "RECV2", "20250101", "1200", "77", "X", "005010"]),
                        ("UNG+", ["INVOIC", "S:1", "R:2", "250101:1200", "9", "UN", "D:01B"])):
        start = text.find(tag)
        if start < 0 or rnd.random() < 0.3:
            continue
        sep = tag[-1]
        end = start + len(tag)
        while end < len(text) and text[end] not in "~'\n":
            end += 1
        parts = text[start:end].split(sep)
        for k in range(1, len(parts)):
            if rnd.random() < 0.5:
                parts[k] = rnd.choice(values)
        text = text[:start] + sep.join(parts) + text[end:]
    return text.encode("latin-1")


@pytest.mark.parametrize(("reader", "check", "path"),
                         [(x12, _check_x12, p) for p in X12] + [(edifact, _check_edifact, p) for p in EDIFACT],
                         ids=lambda v: v.stem if isinstance(v, Path) else "")
def test_envelope_fields_are_their_elements(reader: Any, check: Callable[[Any], int], path: Path) -> None:
    rnd = random.Random(path.name)
    checked = 0
    for data in [path.read_bytes()] + [_varied(path.read_bytes(), rnd) for _ in range(5)]:
        for ic in reader.read(data):
            checked += check(ic)
            _every_field_set(ic)
    assert checked


def test_edifact_flags_and_x12_flags() -> None:
    """Test and acknowledgment flags set and unset, where the golden files all agree."""
    base = "UNA:+.? 'UNB+UNOC:3+S:14+R:14+240115:0930+7++++{ack}++{test}'UNH+1+ORDERS:D:96A:UN'UNT+2+1'UNZ+1+7'"
    for ack in ("", "1"):
        for test in ("", "1"):
            [ic] = list(edifact.read(base.format(ack=ack, test=test).encode()))
            assert (ic.ack_requested, ic.test) == (ack == "1", test == "1")
            _check_edifact(ic)
    isa = ("ISA*00*          *00*          *ZZ*S              *01*R              *240115*0930*U*00401"
           "*000000007*{ack}*{test}*>~GS*PO*S*R*20240115*0930*7*X*004010~ST*850*0001~SE*2*0001~GE*1*7~"
           "IEA*1*000000007~")
    for ack in ("0", "1"):
        for test in ("P", "T"):
            [ic] = list(x12.read(isa.format(ack=ack, test=test).encode()))
            assert (ic.ack_requested, ic.test) == (ack == "1", test == "T")
            assert (ic.sender_qualifier, ic.receiver_qualifier) == ("ZZ", "01")
            _check_x12(ic)


@pytest.mark.parametrize(("body", "unz", "want"), [
    ("", "0", ["32 the interchange carries no message"]),
    ("", "1", ["32 the interchange carries no message", "29 UNZ says 1 messages, the interchange has 0"]),
    ("UNH+1+ORDERS:D:96A:UN'UNT+2+1'", "1", []),
    ("UNH+1+ORDERS:D:96A:UN'UNT+2+1'UNH+2+ORDERS:D:96A:UN'UNT+2+2'", "1",
     ["29 UNZ says 1 messages, the interchange has 2"]),
    ("UNG+ORDERS+S+R+240115:0930+9+UN+D:96A'UNH+1+ORDERS:D:96A:UN'UNT+2+1'"
     "UNH+2+ORDERS:D:96A:UN'UNT+2+2'UNE+2+9'", "1", []),
    ("UNG+ORDERS+S+R+240115:0930+9+UN+D:96A'UNE+0+9'", "1", ["32 the interchange carries no message"]),
])
def test_edifact_interchange_counts(body: str, unz: str, want: list[str]) -> None:
    data = f"UNA:+.? 'UNB+UNOC:3+S:14+R:14+240115:0930+7'{body}UNZ+{unz}+7'".encode()
    [ic] = list(edifact.read(data))
    got = [f"{f.code.rsplit('.', 1)[-1]} {f.message}" for f in ic.findings]
    assert got == want
