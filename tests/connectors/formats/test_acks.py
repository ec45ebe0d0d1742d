"""997 / 999 / TA1 / CONTRL generation for accepted and rejected input, read back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from mockedi import edifact as partner_edifact
from mockedi import validate as partner_validate
from mockedi import x12 as partner_x12

from canonical.errors import ParseError
from connectors.formats import edifact, x12
from connectors.formats.ack_reader import read_functional_ack
from connectors.formats.acks import functional_ack, interchange_ack
from connectors.formats.contrl import contrl
from connectors.formats.model import Interchange
from connectors.formats.validator import validate_interchange

GOLDEN = Path(__file__).parent / "golden"
NOW = dt.datetime(2024, 1, 16, 8, 30)
Counter = Callable[[str], int]


def _read(name: str, old: bytes = b"", new: bytes = b"") -> Interchange:
    data = (GOLDEN / "in" / name).read_bytes()
    if old:
        assert old in data
        data = data.replace(old, new, 1)
    module = x12 if name.startswith("x12") else edifact
    [ic] = list(module.read(data, partner="acme"))
    return validate_interchange(ic, partner="acme")


def _segments(ic: Interchange) -> list[str]:
    return [seg.tag + "*" + "*".join(">".join(c) for rep in seg.elements for c in rep)
            for tx in ic.transactions() for seg in tx.segments]


def _partner_accepts(payload: bytes, standard: str) -> None:
    """The mock trading partner's own validator finds nothing wrong with what we send."""
    parse = partner_x12.parse if standard == "x12" else partner_edifact.parse
    report = partner_validate.validate(parse(payload.decode()))
    problems: list[object] = [(m.code, s.tag, s.code, s.note)
                              for m in report.messages for s in m.segments]
    problems += [(m.code, "set", e) for m in report.messages for e in m.set_errors]
    assert problems == []


def test_997_accepting_a_clean_850(counters: Counter) -> None:
    received = _read("x12_850_004010.edi")
    ack = functional_ack(received, received.groups[0], next_control_number=counters, now=NOW)
    assert (ack.sender_id, ack.receiver_id) == ("WIDGETSUPPLY", "ACMESTORES")
    assert (ack.control_number, ack.groups[0].control_number) == ("000000001", "1")
    payload = x12.write(ack, newline=True)
    assert payload == (GOLDEN / "out" / "ack_997_accepting_850.edi").read_bytes()
    assert _segments(ack)[1:] == ["AK1*PO*101", "AK2*850*0001", "AK5*A", "AK9*A*1*1*1"]
    _partner_accepts(payload, "x12")
    [back] = list(x12.read(payload))
    assert validate_interchange(back).transactions()[0].findings == []
    fa = read_functional_ack(back.transactions()[0])
    assert (fa.kind, fa.status, fa.accepted, fa.group_control_number) == ("997", "A", True, "101")
    assert [(s.control_number, s.accepted) for s in fa.sets] == [("0001", True)]


def test_997_rejecting_a_850_without_beg(counters: Counter) -> None:
    data = (GOLDEN / "in" / "x12_850_004010.edi").read_bytes()
    data = data.replace(b"BEG*00*SA*PO-45001**20240115~\n", b"").replace(b"SE*60*", b"SE*59*")
    [received] = list(x12.read(data))
    validate_interchange(received)
    ack = functional_ack(received, received.groups[0], next_control_number=counters, now=NOW)
    segments = _segments(ack)
    assert "AK3*BEG*2**3" in segments and "AK5*R*5" in segments
    assert segments[-1] == "AK9*R*1*1*0"
    payload = x12.write(ack)
    _partner_accepts(payload, "x12")
    fa = read_functional_ack(next(x12.read(payload)).transactions()[0])
    assert not fa.accepted and fa.rejected_sets() == ["0001"]
    assert [(f.code, f.segment_id, f.segment_position) for f in fa.sets[0].findings] == [
        ("x12.ak3.3", "BEG", 2)]


def test_997_accepting_with_errors_names_the_element(counters: Counter) -> None:
    received = _read("x12_850_004010.edi", b"BEG*00*", b"BEG*99*")
    ack = functional_ack(received, received.groups[0], next_control_number=counters, now=NOW)
    segments = _segments(ack)
    assert segments[2:6] == ["AK2*850*0001", "AK3*BEG*2**8", "AK4*1**7*99", "AK5*E"]
    fa = read_functional_ack(next(x12.read(x12.write(ack))).transactions()[0])
    assert fa.status == "E" and fa.accepted
    [f] = fa.sets[0].findings
    assert (f.code, f.segment_id, f.element_position, f.value) == ("x12.ak4.7", "BEG", 1, "99")


def test_997_rejects_the_group_when_its_trailer_miscounts(counters: Counter) -> None:
    received = _read("x12_850_004010.edi", b"GE*1*101", b"GE*3*101")
    ack = functional_ack(received, received.groups[0], next_control_number=counters, now=NOW)
    assert _segments(ack)[-2:] == ["AK5*R", "AK9*R*3*1*0*5"]
    fa = read_functional_ack(next(x12.read(x12.write(ack))).transactions()[0])
    assert fa.codes == ("5",) and fa.counts == (3, 1, 0) and not fa.accepted


def test_999_for_a_005010_group_with_context(counters: Counter) -> None:
    received = _read("x12_850_005010_pipe.edi", b"BEG|00|", b"BEG|99|")
    ack = functional_ack(received, received.groups[0], next_control_number=counters, now=NOW)
    tx = ack.transactions()[0]
    assert tx.set_id == "999" and ack.groups[0].version == "005010X231A1"
    assert _segments(ack)[1:7] == ["AK1*PO*101*005010", "AK2*850*0001", "IK3*BEG*2**8",
                                   "CTX*BEG03>PO-45001", "IK4*1**7*99", "IK5*E"]
    payload = x12.write(ack, newline=True)
    assert payload == (GOLDEN / "out" / "ack_999_for_850_005010.edi").read_bytes()
    [back] = list(x12.read(payload))
    assert back.version == "00501" and back.delimiters.repetition == "^"
    assert validate_interchange(back).transactions()[0].findings == []
    fa = read_functional_ack(back.transactions()[0])
    assert (fa.kind, fa.status) == ("999", "E")
    assert fa.sets[0].findings[0].code == "x12.ak4.7"


@pytest.mark.parametrize(("old", "new", "note", "status"), [
    (b"", b"", "000", "A"),
    (b"IEA*1*000000101", b"IEA*1*000000999", "001", "R"),
    (b"IEA*1*000000101", b"IEA*2*000000101", "021", "R"),
])
def test_ta1_from_envelope_findings(counters: Counter, old: bytes, new: bytes, note: str,
                                    status: str) -> None:
    received = _read("x12_850_004010.edi", old, new)
    ta1 = interchange_ack(received, next_control_number=counters, now=NOW)
    payload = x12.write(ta1)
    assert f"TA1*000000101*240115*0930*{status}*{note}~".encode() in payload
    assert payload.endswith(b"IEA*0*000000001~")
    _partner_accepts(payload, "x12")
    [back] = list(x12.read(payload))
    assert back.findings == [] and back.groups == []
    ack = read_functional_ack(back.service_segments[0])
    assert (ack.kind, ack.status, ack.interchange_control_number, ack.codes) == (
        "TA1", status, "000000101", (note,))


def test_ta1_for_a_duplicate_interchange(counters: Counter) -> None:
    received = _read("x12_850_004010.edi")
    payload = x12.write(interchange_ack(received, next_control_number=counters,
                                        note_code="025", now=NOW), newline=True)
    assert payload == (GOLDEN / "out" / "ack_ta1_duplicate.edi").read_bytes()
    assert not read_functional_ack(next(x12.read(payload)).service_segments[0]).accepted


def test_contrl_accepting_orders(counters: Counter) -> None:
    received = _read("edifact_orders_d96a.edi")
    ack = contrl(received, next_control_number=counters, now=NOW)
    payload = edifact.write(ack, newline=True)
    assert payload == (GOLDEN / "out" / "ack_contrl_accepting_orders.edi").read_bytes()
    assert _segments(ack)[1:3] == ["UCI*ORD0001*5412345000013>14*4012345000009>14*7",
                                   "UCM*1*ORDERS>D>96A>UN>EAN008*7"]
    assert (ack.sender_id, ack.receiver_id) == ("4012345000009", "5412345000013")
    _partner_accepts(payload, "edifact")
    [back] = list(edifact.read(payload))
    assert validate_interchange(back).transactions()[0].findings == []
    fa = read_functional_ack(back.transactions()[0])
    assert (fa.kind, fa.status, fa.accepted, fa.interchange_control_number) == (
        "CONTRL", "7", True, "ORD0001")
    assert [(s.set_id, s.control_number, s.accepted) for s in fa.sets] == [("ORDERS", "1", True)]


def test_contrl_rejecting_a_message_with_ucs_ucd(counters: Counter) -> None:
    received = _read("edifact_orders_d96a.edi", b"NAD+SU+", b"NAD++")
    ack = contrl(received, next_control_number=counters, now=NOW)
    segments = _segments(ack)
    assert segments[2:5] == ["UCM*1*ORDERS>D>96A>UN>EAN008*4*13", "UCS*10", "UCD*13*2"]
    payload = edifact.write(ack)
    _partner_accepts(payload, "edifact")
    fa = read_functional_ack(next(edifact.read(payload)).transactions()[0])
    assert fa.accepted  # the interchange was read ...
    assert fa.rejected_sets() == ["1"]  # ... and its message rejected
    [f] = fa.sets[0].findings
    assert (f.code, f.segment_position, f.element_position) == ("edifact.0085.13", 10, 1)


@pytest.mark.parametrize(("old", "new", "error", "expected"), [
    (b"", b"", "26", "UCI*ORD0001*5412345000013>14*4012345000009>14*4*26*UNB"),
    (b"UNZ+1+ORD0001", b"UNZ+2+ORD0001", None,
     "UCI*ORD0001*5412345000013>14*4012345000009>14*4*29*UNZ*2"),
])
def test_contrl_rejecting_the_interchange(counters: Counter, old: bytes, new: bytes,
                                          error: str | None, expected: str) -> None:
    received = _read("edifact_orders_d96a.edi", old, new)
    ack = contrl(received, next_control_number=counters, error_code=error, now=NOW)
    assert _segments(ack)[1:] == [expected]
    payload = edifact.write(ack)
    _partner_accepts(payload, "edifact")
    fa = read_functional_ack(next(edifact.read(payload)).transactions()[0])
    assert not fa.accepted and fa.sets == ()


def test_reading_something_that_is_not_an_acknowledgment_fails() -> None:
    received = _read("x12_850_004010.edi")
    with pytest.raises(ParseError):
        read_functional_ack(received.transactions()[0])
