"""EDIFACT reading and writing: goldens, UNA, release escapes, charsets, envelopes."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from canonical.errors import ParseError
from connectors.formats import edifact
from connectors.formats.edifact_writer import DEFAULT_DELIMITERS
from connectors.formats.model import Delimiters, Group, Interchange, Transaction
from connectors.formats.segments import Segment
from connectors.formats.validator import validate_interchange

GOLDEN = Path(__file__).parent / "golden"
CLEAN = ["edifact_desadv_d96a.edi", "edifact_invoic_d96a.edi", "edifact_ordchg_d96a.edi",
         "edifact_orders_custom_una.edi", "edifact_orders_d01b.edi", "edifact_orders_d96a.edi",
         "edifact_orders_unoy.edi", "edifact_ordrsp_d96a.edi", "edifact_ordrsp_change_d96a.edi"]


def _codes(ic: Interchange) -> list[str]:
    return [f.code for f in ic.findings] + [f.code for g in ic.groups for f in g.findings] + [
        f.code for t in ic.transactions() for f in t.findings]


def _shape(ic: Interchange) -> list[tuple[str, str, list[tuple[str, list[list[list[str]]]]]]]:
    return [(t.set_id, t.control_number, [(s.tag, s.elements) for s in t.segments])
            for t in ic.transactions()]


@pytest.mark.parametrize("name", CLEAN)
def test_golden_reads_clean_and_writes_the_golden_output(name: str) -> None:
    data = (GOLDEN / "in" / name).read_bytes()
    [ic] = list(edifact.read(data, partner="acme"))
    validate_interchange(ic)
    assert _codes(ic) == []
    written = edifact.write(ic, newline=True)
    assert written == (GOLDEN / "out" / name).read_bytes()
    [again] = list(edifact.read(written))
    assert _shape(again) == _shape(ic)
    assert again.delimiters == ic.delimiters


def test_orders_envelope_and_content(golden: Callable[[str], bytes]) -> None:
    [ic] = list(edifact.read(golden("edifact_orders_d96a.edi")))
    assert (ic.sender_id, ic.sender_qualifier, ic.receiver_id) == (
        "5412345000013", "14", "4012345000009")
    assert (ic.control_number, ic.version, ic.date, ic.time) == (
        "ORD0001", "UNOC:3", "240115", "0930")
    [group] = ic.groups
    assert group.functional_id is None and group.header is None
    [tx] = group.transactions
    assert (tx.set_id, tx.version, tx.association_code) == ("ORDERS", "D96A", "EAN008")
    assert len([s for s in tx.segments if s.tag == "LIN"]) == 20
    ftx = next(s for s in tx.segments if s.tag == "FTX")
    assert ftx.get(4) == "CALL +44 20 7946 0958 BEFORE DELIVERY: DOCK 3"
    com = next(s for s in tx.segments if s.tag == "COM")
    assert (com.get(1, 1), com.get(1, 2)) == ("+44 20 7946 0958", "TE")


def test_non_default_una_with_release_escapes(golden: Callable[[str], bytes]) -> None:
    [ic] = list(edifact.read(golden("edifact_orders_custom_una.edi")))
    assert ic.delimiters == Delimiters(element="*", component="|", segment="~", release="#",
                                       decimal=",")
    [tx] = ic.transactions()
    ftx = next(s for s in tx.segments if s.tag == "FTX")
    assert ftx.get(4) == "CALL *44 20 7946 0958 BEFORE DELIVERY| DOCK 3"
    written = edifact.write(ic)
    assert written.startswith(b"UNA|*,# ~UNB*UNOC|3*")
    assert b"CALL #*44 20 7946 0958 BEFORE DELIVERY#| DOCK 3~" in written


@pytest.mark.parametrize(("value", "escaped"), [
    ("A+B", "A?+B"), ("A:B", "A?:B"), ("IT'S", "IT?'S"), ("50?", "50??"),
    ("?+:'", "???+?:?'"), ("PLAIN", "PLAIN"),
])
def test_writer_escapes_and_reader_unescapes(value: str, escaped: str) -> None:
    tx = Transaction("ORDERS", "1", [Segment.simple("FTX", "AAI", None, None, [value, value])])
    ic = Interchange("edifact", "14", "A", "14", "B", "1", "240115", "0930", "UNOC:3",
                     DEFAULT_DELIMITERS, groups=[Group(None, None, None, None, None,
                                                       transactions=[tx])])
    data = edifact.write(ic).decode()
    assert f"FTX+AAI+++{escaped}:{escaped}'" in data
    [back] = list(edifact.read(data.encode()))
    ftx = back.transactions()[0].segments[1]
    assert (ftx.get(4, 1), ftx.get(4, 2)) == (value, value)


def test_release_character_at_the_end_of_a_segment_split() -> None:
    data = b"UNB+UNOC:3+A+B+240115:0930+1'UNH+1+ORDERS:D:96A:UN'FTX+AAI+++END??'UNT+3+1'UNZ+1+1'"
    [ic] = list(edifact.read(data))
    assert ic.transactions()[0].segments[1].get(4) == "END?"
    assert _codes(ic) == []


def test_unoa_violations_are_reported_where_they_are(golden: Callable[[str], bytes]) -> None:
    [ic] = list(edifact.read(golden("edifact_orders_unoa_violation.edi")))
    findings = ic.transactions()[0].findings
    assert {(f.code, f.segment_id, f.segment_position, f.element_position,
             f.component_position, f.value) for f in findings} == {
        ("edifact.0085.21", "NAD", 4, 4, 1, "Acme Stores"),
        ("edifact.0085.21", "NAD", 4, 5, 1, "Main street 1"),
    }


def test_unoa_clean_upper_case_passes() -> None:
    data = b"UNB+UNOA:2+A+B+240115:0930+1'UNH+1+ORDERS:D:96A:UN'FTX+AAI+++UPPER (1/2) = 50%'" \
           b"UNT+3+1'UNZ+1+1'"
    [ic] = list(edifact.read(data))
    assert _codes(ic) == []


def test_unob_allows_lower_case_but_not_latin1() -> None:
    data = "UNB+UNOB:3+A+B+240115:0930+1'UNH+1+ORDERS:D:96A:UN'FTX+AAI+++Müller & co'" \
           "UNT+3+1'UNZ+1+1'".encode("latin-1")
    [ic] = list(edifact.read(data))
    [f] = ic.transactions()[0].findings
    assert (f.code, f.value) == ("edifact.0085.21", "Müller & co")


def test_unoy_is_utf8_and_unoc_is_latin1(golden: Callable[[str], bytes]) -> None:
    [ic] = list(edifact.read(golden("edifact_orders_unoy.edi")))
    nads = [s for s in ic.transactions()[0].segments if s.tag == "NAD"]
    assert nads[0].get(4) == "MÜLLER GROẞHANDEL GMBH"
    assert nads[1].get(4) == "東京卸売株式会社"
    assert "東京".encode() in edifact.write(ic)
    latin = "UNB+UNOC:3+A+B+240115:0930+1'UNH+1+ORDERS:D:96A:UN'FTX+AAI+++KÖLN'UNT+3+1'" \
            "UNZ+1+1'".encode("latin-1")
    [ic2] = list(edifact.read(latin))
    assert ic2.transactions()[0].segments[1].get(4) == "KÖLN"
    assert edifact.write(ic2) == latin


def test_d01b_message_with_unknown_optional_segment_is_not_an_error(
        golden: Callable[[str], bytes]) -> None:
    data = golden("edifact_orders_d01b.edi")
    [ic] = list(edifact.read(data))
    validate_interchange(ic)
    assert _codes(ic) == []
    # the same segment in a message declaring D96A is reported
    [strict] = list(edifact.read(data.replace(b"D:01B", b"D:96A")))
    validate_interchange(strict)
    assert [(f.code, f.segment_id) for f in strict.transactions()[0].findings] == [
        ("edifact.0085.15", "QVQ")]


def test_ung_groups_are_read_and_written() -> None:
    tx = Transaction("INVOIC", "7", [Segment.simple("BGM", "380", "INV1", "9")], "D96A")
    ic = Interchange("edifact", "14", "A", "14", "B", "9", "240115", "0930", "UNOC:3",
                     DEFAULT_DELIMITERS, groups=[Group("INVOIC", "A", "B", "55", "D96A",
                                                       transactions=[tx])])
    data = edifact.write(ic)
    assert b"UNG+INVOIC+A+B+240115:0930+55+UN+D:96A'" in data
    assert b"UNE+1+55'UNZ+1+9'" in data
    [back] = list(edifact.read(data))
    assert (back.groups[0].functional_id, back.groups[0].control_number) == ("INVOIC", "55")
    assert _codes(back) == []


@pytest.mark.parametrize(("old", "new", "level", "code"), [
    (b"UNT+115+1", b"UNT+114+1", "tx", "edifact.0085.29"),
    (b"UNT+115+1", b"UNT+115+2", "tx", "edifact.0085.28"),
    (b"UNT+115+1'\n", b"", "tx", "edifact.0085.13"),
    (b"UNZ+1+ORD0001", b"UNZ+2+ORD0001", "ic", "edifact.0085.29"),
    (b"UNZ+1+ORD0001", b"UNZ+1+ORD0009", "ic", "edifact.0085.28"),
    (b"UNZ+1+ORD0001'\n", b"", "ic", "edifact.0085.13"),
])
def test_envelope_faults_become_findings(golden: Callable[[str], bytes], old: bytes, new: bytes,
                                         level: str, code: str) -> None:
    data = golden("edifact_orders_d96a.edi")
    assert old in data
    [ic] = list(edifact.read(data.replace(old, new), partner="acme"))
    found = ic.findings if level == "ic" else ic.transactions()[0].findings
    assert [f.code for f in found] == [code]
    assert found[0].path.startswith("partner acme / UNB ORD0001")


def test_stream_and_several_interchanges(golden: Callable[[str], bytes]) -> None:
    data = golden("edifact_orders_d96a.edi") + b"\r\n" + golden("edifact_orders_custom_una.edi") \
        + golden("edifact_invoic_d96a.edi")
    whole = list(edifact.read(data))
    assert [ic.control_number for ic in whole] == ["ORD0001", "ORD0003", "INV0001"]
    for ic in whole:
        assert data[ic.offset:ic.offset + 3] == b"UNA"
    streamed = list(edifact.read_stream(io.BytesIO(data), chunk_size=64))
    assert [(ic.offset, _shape(ic)) for ic in streamed] == [(ic.offset, _shape(ic)) for ic in whole]


@pytest.mark.parametrize(("data", "what"), [
    (b"UNA:+", "UNA is shorter than 9"),
    (b"UNA:::? 'UNB+UNOC:3+A+B+240115:0930+1'", "unusable delimiters"),
    (b"UNA:+.? 'UNH+1+ORDERS:D:96A:UN'", "no UNB segment"),
])
def test_unreadable_envelope_raises(data: bytes, what: str) -> None:
    with pytest.raises(ParseError) as err:
        list(edifact.read(data, partner="acme"))
    assert what in str(err.value) and "partner acme" in str(err.value)
    assert "byte offset" in str(err.value)


def test_unknown_syntax_identifier_is_reported() -> None:
    data = b"UNB+UNOZ:3+A+B+240115:0930+1'UNH+1+ORDERS:D:96A:UN'UNT+2+1'UNZ+1+1'"
    [ic] = list(edifact.read(data))
    assert [(f.code, f.segment_id, f.value) for f in ic.findings] == [
        ("edifact.0085.2", "UNB", "UNOZ")]
