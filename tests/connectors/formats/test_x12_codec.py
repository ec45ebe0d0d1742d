"""X12 reading and writing: goldens, delimiters, envelopes, streaming, corrupt input."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from canonical.errors import ParseError
from connectors.formats import x12
from connectors.formats.model import Delimiters, Group, Interchange, Transaction
from connectors.formats.segments import Segment
from connectors.formats.validator import validate_interchange

GOLDEN = Path(__file__).parent / "golden"
X12_INPUTS = sorted(p.name for p in (GOLDEN / "in").glob("x12_*.edi"))


def _all_findings(ic: Interchange) -> list[str]:
    return [f.code for f in ic.findings] + [f.code for g in ic.groups for f in g.findings] + [
        f.code for t in ic.transactions() for f in t.findings]


def _shape(ic: Interchange) -> list[tuple[str, str, list[tuple[str, list[list[list[str]]]]]]]:
    return [(t.set_id, t.control_number, [(s.tag, s.elements) for s in t.segments])
            for t in ic.transactions()]


@pytest.mark.parametrize("name", X12_INPUTS)
def test_golden_reads_clean_and_writes_the_golden_output(name: str) -> None:
    data = (GOLDEN / "in" / name).read_bytes()
    [ic] = list(x12.read(data, partner="acme"))
    validate_interchange(ic)
    assert _all_findings(ic) == []
    written = x12.write(ic, newline=True)
    assert written == (GOLDEN / "out" / name).read_bytes()
    [again] = list(x12.read(written))
    assert _shape(again) == _shape(ic)
    assert (again.sender_id, again.receiver_id, again.control_number) == (
        ic.sender_id, ic.receiver_id, ic.control_number)


def test_850_content_is_addressable_by_position(golden: Callable[[str], bytes]) -> None:
    [ic] = list(x12.read(golden("x12_850_004010.edi")))
    [tx] = ic.transactions()
    assert (ic.sender_id, ic.receiver_id, ic.control_number) == (
        "ACMESTORES", "WIDGETSUPPLY", "000000101")
    assert ic.ack_requested and not ic.test
    assert (tx.set_id, tx.control_number, tx.version) == ("850", "0001", "004010")
    beg = tx.segments[1]
    assert (beg.tag, beg.get(3), beg.get(5), beg.position) == ("BEG", "PO-45001", "20240115", 2)
    lines = [s for s in tx.segments if s.tag == "PO1"]
    assert len(lines) == 20
    assert [s.tag for s in tx.segments if s.tag == "N1"] == ["N1"] * 3
    assert tx.segments[-1].tag == "SE" and tx.segments[-1].position == len(tx.segments)


@pytest.mark.parametrize(("element", "component", "terminator", "repetition", "version"), [
    ("*", ">", "~", None, "00401"),
    ("|", "^", "~", None, "00401"),
    ("|", ":", "~", "^", "00501"),
    ("*", ":", "\n", None, "00401"),
    ("\x1d", "\x1f", "\x1c", None, "00401"),
])
def test_delimiter_variants_round_trip(element: str, component: str, terminator: str,
                                       repetition: str | None, version: str) -> None:
    d = Delimiters(element=element, component=component, segment=terminator,
                   repetition=repetition)
    body = [Segment.simple("BEG", "00", "SA", "PO-1", None, "20240115"),
            Segment("REF", [[["DP"]], [["042"]], [[""]], [["ZZ", "X1"], ["ZZ", "X2"]]]
                    if repetition else [[["DP"]], [["042"]], [[""]], [["ZZ", "X1"]]])]
    ic = Interchange("x12", "ZZ", "BUYER", "ZZ", "SELLER", "000000042", "240115", "0930",
                     version, d, groups=[Group("PO", "BUYER", "SELLER", "7", "004010",
                                               transactions=[Transaction("850", "0001", body)])])
    data = x12.write(ic)
    assert data.index(terminator.encode()) == 105  # ISA is fixed width
    [back] = list(x12.read(data))
    assert back.delimiters == d
    [tx] = back.transactions()
    assert tx.segments[2].elements == body[1].elements
    assert _all_findings(back) == []


def test_crlf_after_terminators_is_tolerated(golden: Callable[[str], bytes]) -> None:
    data = golden("x12_850_004010.edi").replace(b"~\n", b"~\r\n")
    [ic] = list(x12.read(data))
    assert _all_findings(ic) == [] and len(ic.transactions()[0].segments) == 60


def test_several_interchanges_with_offsets_and_junk_whitespace(
        golden: Callable[[str], bytes]) -> None:
    a, b = golden("x12_850_004010.edi"), golden("x12_856_004010.edi")
    data = b"\xef\xbb\xbf\r\n" + a + b"\n\n" + b + a
    ics = list(x12.read(data))
    assert [ic.transactions()[0].set_id for ic in ics] == ["850", "856", "850"]
    assert [ic.offset for ic in ics] == [5, 5 + len(a) + 2, 5 + len(a) + 2 + len(b)]
    for ic in ics:
        assert data[ic.offset:ic.offset + 3] == b"ISA"


def test_read_stream_matches_read_with_tiny_chunks(golden: Callable[[str], bytes]) -> None:
    data = golden("x12_850_004010.edi") + golden("x12_810_004010.edi") * 3
    streamed = list(x12.read_stream(io.BytesIO(data), chunk_size=97))
    whole = list(x12.read(data))
    assert [(ic.offset, _shape(ic)) for ic in streamed] == [(ic.offset, _shape(ic)) for ic in whole]


def test_writer_computes_counts_and_pads_the_isa() -> None:
    d = Delimiters("*", ">", "~")
    tx = Transaction("850", "0042", [Segment.simple("BEG", "00", "SA", "P1", None, "20240115")])
    ic = Interchange("x12", None, "ME", None, "YOU", "77", "240115", "0930", "00401", d,
                     groups=[Group("PO", None, None, "9", "004010", transactions=[tx, tx])])
    text = x12.write(ic).decode()
    segs = text.split("~")
    assert len(segs[0]) == 105 and segs[0][3] == "*"
    assert "ZZ*ME             *ZZ*YOU            " in segs[0] and "*000000077*" in segs[0]
    assert "ST*850*0042" in segs and "SE*3*0042" in segs
    assert "GE*2*9" in segs and "IEA*1*000000077" in segs


def test_writer_refuses_a_value_containing_a_delimiter() -> None:
    from canonical.errors import ValidationFailed
    tx = Transaction("850", "1", [Segment.simple("BEG", "00", "SA", "P*1")])
    ic = Interchange("x12", None, "A", None, "B", "1", "240115", "0930", "00401",
                     Delimiters("*", ">", "~"), groups=[Group("PO", None, None, "1", "004010",
                                                               transactions=[tx])])
    with pytest.raises(ValidationFailed) as err:
        x12.write(ic)
    assert err.value.findings[0].segment_id == "BEG"
    assert err.value.findings[0].element_position == 3


def _mutate(data: bytes, old: bytes, new: bytes) -> bytes:
    assert old in data
    return data.replace(old, new, 1)


@pytest.mark.parametrize(("old", "new", "level", "code", "segment"), [
    (b"SE*60*0001", b"SE*59*0001", "tx", "x12.ak5.4", "SE"),
    (b"SE*60*0001", b"SE*60*0002", "tx", "x12.ak5.3", "SE"),
    (b"SE*60*0001~\n", b"", "tx", "x12.ak5.2", None),
    (b"GE*1*101", b"GE*2*101", "group", "x12.ak9.5", "GE"),
    (b"GE*1*101", b"GE*1*102", "group", "x12.ak9.4", "GE"),
    (b"GE*1*101~\n", b"", "group", "x12.ak9.3", None),
    (b"IEA*1*000000101", b"IEA*2*000000101", "ic", "x12.ta1.021", "IEA"),
    (b"IEA*1*000000101", b"IEA*1*000000999", "ic", "x12.ta1.001", "IEA"),
    (b"IEA*1*000000101~\n", b"", "ic", "x12.ta1.023", None),
])
def test_envelope_faults_become_findings_with_codes(
        golden: Callable[[str], bytes], old: bytes, new: bytes, level: str, code: str,
        segment: str | None) -> None:
    data = _mutate(golden("x12_850_004010.edi"), old, new)
    [ic] = list(x12.read(data, partner="acme"))
    where = {"ic": ic.findings, "group": ic.groups[0].findings,
             "tx": ic.transactions()[0].findings}[level]
    assert [f.code for f in where] == [code]
    assert where[0].segment_id == segment
    assert "partner acme / ISA 000000101" in where[0].path
    assert len(ic.transactions()[0].segments) >= 59  # the set itself was still read


def test_one_bad_set_does_not_hide_the_next(golden: Callable[[str], bytes]) -> None:
    one = golden("x12_850_004010.edi")
    head, rest = one.split(b"ST*850*0001", 1)
    body = b"ST*850*0001" + rest.split(b"GE*1*101")[0]
    second = body.replace(b"0001", b"0002").replace(b"SE*60*", b"SE*61*")
    data = head + body + second + b"GE*2*101~\nIEA*1*000000101~\n"
    [ic] = list(x12.read(data))
    first, other = ic.transactions()
    assert first.findings == []
    assert [f.code for f in other.findings] == ["x12.ak5.4"]
    assert ic.groups[0].findings == [] and ic.findings == []


@pytest.mark.parametrize(("data", "what"), [
    (b"ISA*00*short~", "ISA is incomplete"),
    (b"ISA000*          *00*          *ZZ*A              *ZZ*B              *240115*0930*U"
     b"*00401*000000001*0*P*>~", "invalid element separator"),
    (b"GS*PO*A*B*20240115*0930*1*X*004010~", "does not start with an ISA"),
])
def test_unreadable_isa_raises_parse_error_naming_partner_and_offset(
        data: bytes, what: str) -> None:
    with pytest.raises(ParseError) as err:
        list(x12.read(b"\n\n" + data, partner="acme"))
    assert "partner acme" in str(err.value) and "byte offset 2" in str(err.value)
    assert what in str(err.value)
    assert err.value.details["offset"] == 2 and err.value.partner == "acme"


def test_corrupt_second_interchange_raises_after_the_first_is_delivered(
        golden: Callable[[str], bytes]) -> None:
    good = golden("x12_850_004010.edi")
    reader = x12.read(good + b"XYZ garbage", partner="acme")
    assert next(reader).control_number == "000000101"
    with pytest.raises(ParseError) as err:
        next(reader)
    assert err.value.details["offset"] == len(good)


@pytest.mark.parametrize(("field", "bad", "note"), [
    (b"*240115*", b"*241315*", "014"),
    (b"*0930*", b"*0975*", "015"),
    (b"*000000101*1*P*", b"*00000010X*1*P*", "018"),
    (b"*000000101*1*P*", b"*000000101*7*P*", "019"),
    (b"*000000101*1*P*", b"*000000101*1*Q*", "020"),
])
def test_isa_field_faults_carry_ta1_note_codes(golden: Callable[[str], bytes], field: bytes,
                                               bad: bytes, note: str) -> None:
    data = golden("x12_850_004010.edi")
    isa, rest = data[:106], data[106:]
    [ic] = list(x12.read(isa.replace(field, bad, 1) + rest))
    assert f"x12.ta1.{note}" in [f.code for f in ic.findings]
    assert ic.transactions()[0].findings == []


@pytest.mark.slow
def test_streaming_a_large_file_keeps_memory_flat(tmp_path: Path,
                                                  golden: Callable[[str], bytes]) -> None:
    import tracemalloc

    one = golden("x12_850_004010.edi") + golden("x12_856_004010.edi")
    path = tmp_path / "big.edi"
    with path.open("wb") as fh:
        for _ in range(4 * 2**20 // len(one)):  # about 4 MB
            fh.write(one)
    tracemalloc.start()
    count = 0
    with path.open("rb") as fp:
        for _ in x12.read_stream(fp, chunk_size=1 << 16):
            count += 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count > 1000
    assert peak < 2 * 2**20  # one chunk and one interchange, not the file


@pytest.mark.parametrize("gs", [b"GS*PO*ACME*XD*20261123*1200*1*X*004010~",
                                b"GS*PO*A*XD*20261123*1200*1*X*004010~"])
def test_an_isa_without_padding_is_read_by_counting_its_separators(gs: bytes) -> None:
    """Some partners do not pad ISA fields to their fixed widths; the ISA is then read by its 16
    element separators, even when the GS after it has a separator where ISA16 would be."""
    data = (b"ISA*00**00**ZZ*ACME*ZZ*XD*261123*1200*U*00401*000000001*0*P*>~" + gs
            + b"ST*850*0001~BEG*00*SA*PO-1**20261123~SE*3*0001~GE*1*1~IEA*1*000000001~")
    [ic] = list(x12.read(data))
    assert (ic.sender_id, ic.delimiters.component, ic.delimiters.segment) == ("ACME", ">", "~")
    assert [t.set_id for g in ic.groups for t in g.transactions] == ["850"]
