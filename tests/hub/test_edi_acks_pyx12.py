"""The 999 / 997 / TA1 the hub answers with, judged by pyx12 (an independent X12 validator).

mock-edi only speaks 997, so the 999 (005010X231A1) had only been read back by our own code.
Each acknowledgment here is built the way the hub builds it — ``decode_edi`` reads and checks
the received interchange (and maps it), ``answer_interchange`` queues the answers under the
partner's profile — and pyx12 validates the bytes queued for sending against its 999 / 997 /
control maps (see ``tests/support/x12_judge.py`` for the one adaptation: the HIPAA-only code
lists of AK101 / AK201 / business-unit CTX also name the purchase-order sets we trade).
What pyx12 does not check — the AK9 counts and statuses against the IK5s — ``_tally`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub.edi.acks import answer_interchange
from hub.edi.decode import decode_edi
from hub.edi.profile import edi_profile
from hub.storage.db import Database
from pipelines.runner import Message
from tests.support.services import sqlite_database
from tests.support.x12_judge import judge, judge_maps

GOLDEN = Path(__file__).parents[1] / "mappings" / "golden"
# mock-edi's purchase orders: one 005010 (BEG03 PO-4711), one 004010 (a line-level REF that
# our validator notes as an unexpected segment, AK3 code 2: accepted with errors).
PO_005010 = (GOLDEN / "x12_850_005010_change.edi").read_text()
PO_004010 = (GOLDEN / "x12_850_004010.edi").read_text()
Answer = Callable[..., dict[str, str]]


@pytest.fixture(scope="module")
def maps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return judge_maps(tmp_path_factory.mktemp("pyx12") / "map")


@pytest.fixture
def answer(tmp_path: Path) -> Iterator[Answer]:
    """``answer(payload, version=, functional_ack=)``: what the hub queues, by set id (TA1 too)."""
    db = Database(sqlite_database(tmp_path / "crossdock.db"))

    def run(payload: str, *, version: str, functional_ack: str = "auto") -> dict[str, str]:
        partner = {"id": "mockedi", "name": "mock-edi", "edi": {
            "standard": "x12", "version": version, "interchange_id": "MOCKEDI",
            "our_interchange_id": "CROSSDOCK", "functional_ack": functional_ack, "ta1": "always"}}
        message = decode_edi(Message(receipt_id=1, partner_id="mockedi", channel="test",
                                     raw=payload.encode(), partner=partner), None)
        [ic] = message.data.interchanges
        with db.session() as s:
            rows = answer_interchange(s, "mockedi", edi_profile(partner), ic, inbox_id=None)
            return {row.set_id: row.raw.decode() for row in rows}

    try:
        yield run
    finally:
        db.dispose()


def _edit(payload: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert old in payload, old
        payload = payload.replace(old, new, 1)
    return payload


def _body(ack: str) -> list[str]:
    """The acknowledgment's segments between ST and SE, element separator shown as ``*``."""
    segments = [s.strip() for s in ack.split("~") if s.strip()]
    st = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
    return segments[st + 1:-3]


def _tally(body: list[str]) -> None:
    """AK9 says what the AK2/IK5s (AK5s) say: counts, and A / E / P / R."""
    statuses = [s.split("*")[1] for s in body if s.startswith(("IK5*", "AK5*"))]
    ak9 = body[-1].split("*")
    assert ak9[0] == "AK9" and len(statuses) == sum(s.startswith("AK2*") for s in body)
    assert int(ak9[3]) == len(statuses) and int(ak9[4]) == sum(s in "AE" for s in statuses)
    expected = ("R" if all(s == "R" for s in statuses) else "A" if all(s == "A" for s in statuses)
                else "P" if "R" in statuses else "E")
    assert ak9[1] == expected, (ak9, statuses)


def _two_sets(*changes: tuple[str, str]) -> str:
    """PO_005010 with a second 850 (control 0002, PO-4712, then ``changes``) in the same group."""
    head, rest = PO_005010.split("ST*850*0001~", 1)
    body, tail = rest.split("GE*1*2~", 1)
    other = _edit("ST*850*0002~" + body, ("SE*22*0001~", "SE*22*0002~"),
                  ("BEG*05*SA*PO-4711*", "BEG*05*SA*PO-4712*"), *changes)
    return head + "ST*850*0001~" + body + other + "GE*2*2~" + tail


def test_999_accepting_a_group(answer: Answer, maps: Path) -> None:
    acks = answer(PO_005010, version="005010", functional_ack="999")
    assert set(acks) == {"TA1", "999"}
    assert _body(acks["999"]) == ["AK1*PO*2*005010", "AK2*850*0001", "IK5*A", "AK9*A*1*1*1"]
    assert "GS*FA*CROSSDOCK*MOCKEDI*" in acks["999"] and "ST*999*0001*005010X231A1~" in acks["999"]
    assert judge(acks["999"], maps) == []
    assert judge(acks["TA1"], maps) == []


def test_999_rejecting_a_set_names_segment_element_code_and_value(answer: Answer, maps: Path) -> None:
    # BEG is the set's 2nd segment (ST is 1st): BEG01 an unknown code, BEG02 missing (that one
    # rejects the set); CUR (3rd): CUR02 longer than its 3 characters.
    received = _edit(PO_005010, ("BEG*05*SA*", "BEG*99**"), ("CUR*BY*USD", "CUR*BY*USDOLLARS"))
    body = _body(answer(received, version="005010", functional_ack="999")["999"])
    assert body == ["AK1*PO*2*005010", "AK2*850*0001",
                    "IK3*BEG*2**8", "CTX*BEG03>PO-4711", "IK4*1**7*99", "IK4*2**1",
                    "IK3*CUR*3**8", "CTX*BEG03>PO-4711", "IK4*2**5*USDOLLARS",
                    "IK5*R*5", "AK9*R*1*1*0"]
    _tally(body)
    assert judge(answer(received, version="005010", functional_ack="999")["999"], maps) == []


def test_999_partially_accepting_a_group(answer: Answer, maps: Path) -> None:
    received = _two_sets(("BEG*05*SA*PO-4712*", "BEG*05**PO-4712*"))  # BEG02 missing
    acks = answer(received, version="005010", functional_ack="999")
    body = _body(acks["999"])
    assert body == ["AK1*PO*2*005010", "AK2*850*0001", "IK5*A",
                    "AK2*850*0002", "IK3*BEG*2**8", "CTX*BEG03>PO-4712", "IK4*2**1", "IK5*R*5",
                    "AK9*P*2*2*1"]
    _tally(body)
    assert judge(acks["999"], maps) == []


@pytest.mark.parametrize(("changes", "expected"), [
    # the group's trailer counts 3 sets: the group is rejected (AK905 5), and its set with it
    ([("GE*1*2~", "GE*3*2~")], ["IK5*R", "AK9*R*3*1*0*5"]),
    # BEG missing (IK304 3 at the position it belongs) and the set's count now wrong (IK502 4)
    ([("BEG*05*SA*PO-4711**20261123~\n", "")], ["IK3*BEG*2**3", "IK5*R*4", "AK9*R*1*1*0"]),
    # a price that is no number (IK403 6) in the 18th segment
    ([("PO1*2*3*EA*5.125", "PO1*2*3*EA*5.1x5")],
     ["IK3*PO1*18**8", "CTX*BEG03>PO-4711", "IK4*4**6*5.1x5", "IK5*R*5", "AK9*R*1*1*0"]),
], ids=["group-trailer", "missing-segment", "bad-number"])
def test_999_for_other_rejections(answer: Answer, maps: Path, changes: list[tuple[str, str]],
                                  expected: list[str]) -> None:
    ack = answer(_edit(PO_005010, *changes), version="005010", functional_ack="999")["999"]
    assert _body(ack) == ["AK1*PO*2*005010", "AK2*850*0001", *expected]
    _tally(_body(ack))
    assert judge(ack, maps) == []


@pytest.mark.parametrize(("received", "expected"), [
    (PO_004010, ["AK1*PO*1", "AK2*850*0001", "AK3*REF*19**2", "AK5*E", "AK9*E*1*1*1"]),
    (_edit(PO_004010, ("BEG*00*SA*", "BEG*00**")),
     ["AK1*PO*1", "AK2*850*0001", "AK3*BEG*2**8", "AK4*2**1", "AK3*REF*19**2", "AK5*R*5",
      "AK9*R*1*1*0"]),
], ids=["accepted-with-errors", "rejected"])
def test_997_for_a_004010_group(answer: Answer, maps: Path, received: str, expected: list[str]) -> None:
    acks = answer(received, version="004010")
    assert set(acks) == {"TA1", "997"}
    assert _body(acks["997"]) == expected
    _tally(expected)
    assert judge(acks["997"], maps) == []
    assert judge(acks["TA1"], maps) == []


# Each edit breaks the rejecting 999 above (or the TA1) in a way pyx12 must report.
CORRUPTIONS = [
    ("IK5*R*5~", "IK5*Q*5~", "IK5"),              # no such set acknowledgment code
    ("IK5*R*5~", "IK5*R*99~", "IK502"),           # no such set syntax error code
    ("IK3*BEG*2**8~", "IK3*BEG*2**42~", "IK304"),  # no such segment syntax error code
    ("IK4*2**1~", "IK4*2~", "IK403"),             # the element's error code left out
    ("IK4*1**7*99~", "IK4*1**7*" + "9" * 100 + "~", "IK404"),  # more than 99 characters copied
    ("AK1*PO*2*005010~", "AK1*PO*2~", "AK103"),   # the 999 must name the group's version
    ("CTX*BEG03>", "CTX*BEG99>", "CTX"),           # no such business-unit element
    ("SE*10*0001~", "SE*11*0001~", "SE count"),   # the set's segment count
    ("IK3*BEG*2**8~CTX*BEG03>PO-4711~", "", "IK4*1"),  # IK4 outside an IK3 loop
]


@pytest.mark.parametrize(("old", "new", "named"), CORRUPTIONS, ids=[c[2] for c in CORRUPTIONS])
def test_pyx12_reports_a_corrupted_999(answer: Answer, maps: Path, old: str, new: str,
                                       named: str) -> None:
    received = _edit(PO_005010, ("BEG*05*SA*", "BEG*99**"))
    ack = answer(received, version="005010", functional_ack="999")["999"]
    assert judge(ack, maps) == []
    found = judge(_edit(ack, (old, new)), maps)
    assert found and any(named in f for f in found), found


def test_pyx12_reports_a_corrupted_ta1(answer: Answer, maps: Path) -> None:
    ta1 = answer(PO_004010, version="004010")["TA1"]
    assert judge(ta1, maps) == []
    assert any("TA104" in f for f in judge(_edit(ta1, ("*A*000~", "*Q*000~")), maps))
    assert any("IEA count" in f for f in judge(_edit(ta1, ("IEA*0*", "IEA*1*")), maps))


def test_pyx12_own_maps_know_only_hipaa_groups(answer: Answer) -> None:
    """Why ``judge_maps`` widens three code lists: unchanged, pyx12 cannot place AK1*PO at all."""
    ack = answer(PO_005010, version="005010", functional_ack="999")["999"]
    assert any("Segment AK1*PO not found" in f for f in judge(ack, None))
