"""``read_envelope`` reads the first interchange's header alone and answers what ``read_any``
answers of it: the doors decide whose an interchange is from it (an ingest key bound to one
partner may send only that partner's interchanges), so the two must never name different
partners. Compared over every EDI file of the tests and thousands of changed copies."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from canonical.errors import CrossdockError
from connectors.formats import Interchange, read_any, read_envelope

TESTS = Path(__file__).resolve().parents[1].parent
FILES = sorted({*TESTS.rglob("*.edi"), *TESTS.rglob("*.x12")})
# What a door reads of an envelope, and what else the header says
FIELDS = ("standard", "sender_qualifier", "sender_id", "receiver_qualifier", "receiver_id", "control_number",
          "date", "time", "version", "delimiters", "test", "ack_requested", "offset")


def _first(raw: bytes) -> tuple[object, ...] | None:
    try:
        ic = next(iter(read_any(raw)), None)
    except CrossdockError:
        return None
    return None if ic is None else _fields(ic)


def _envelope(raw: bytes) -> tuple[object, ...] | None:
    try:
        return _fields(read_envelope(raw))
    except CrossdockError:
        return None


def _fields(ic: Interchange) -> tuple[object, ...]:
    return tuple(getattr(ic, name) for name in FIELDS)


def _header_length(raw: bytes) -> int:
    """Where the first segment after the ISA / UNB starts, roughly (mutations go after it)."""
    text = raw.lstrip(b"\xef\xbb\xbf \r\n\t")
    lead = len(raw) - len(text)
    if text[:3] == b"ISA":
        return lead + 106
    unb = text.find(b"UNB")
    return lead + unb + 3 + max(text[unb:].find(b"'"), text[unb:].find(b"~"), 0) + 1


def _mutants(raw: bytes, rnd: random.Random, count: int) -> list[bytes]:
    """The file changed as senders and networks change files: a BOM or blank lines in front,
    bytes replaced, dropped or doubled (in the header itself a third of the time), cut short,
    a second copy after it."""
    out = [b"\xef\xbb\xbf" + raw, b"\r\n  \r\n" + raw, raw + raw, raw[:_header_length(raw) + 1]]
    header = _header_length(raw)
    for _ in range(count):
        data = bytearray(raw)
        for _ in range(rnd.randint(1, 6)):
            start = 0 if rnd.random() < 0.33 else header
            at = rnd.randrange(start, len(data)) if len(data) > start else len(data)
            action = rnd.random()
            if action < 0.4 and at < len(data):
                data[at] = rnd.choice(b"~'*+:?>|^\r\n\x00\xffA1 ")
            elif action < 0.7 and at < len(data):
                del data[at:at + rnd.randint(1, 40)]
            elif action < 0.9:
                data[at:at] = data[at:at + rnd.randint(1, 40)]
            else:
                del data[at:]
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_header_alone_names_what_the_whole_interchange_names(path: Path) -> None:
    raw = path.read_bytes()
    whole = _first(raw)
    assert whole is not None, f"{path.name} is read"
    assert _envelope(raw) == whole
    rnd = random.Random(path.name)
    read = 0
    for mutant in _mutants(raw, rnd, 120):
        whole = _first(mutant)
        if whole is not None:  # wherever the reader reads it, the header read says the same
            read += 1
            assert _envelope(mutant) == whole, mutant[:200]
        else:  # and where the reader cannot, nor can the header read
            assert _envelope(mutant) is None, mutant[:200]
    assert read > 60


def test_an_unreadable_header_is_refused_as_the_reader_refuses_it() -> None:
    x12 = next(p for p in FILES if p.read_bytes().lstrip()[:3] == b"ISA").read_bytes()
    edifact = next(p for p in FILES if p.read_bytes().lstrip()[:3] == b"UNA").read_bytes()
    for broken in (b"ISA*00*short~", x12[:50], b"UNA:+.? '" + b"XYZ+junk'", b"UNA::::::" + edifact[9:],
                   b"hello", b""):
        assert _first(broken) is None
        with pytest.raises(CrossdockError):
            read_envelope(broken)


def test_a_released_terminator_in_the_unb_does_not_end_it() -> None:
    raw = (b"UNA:+.? 'UNB+UNOC:3+ACME?'S CO:ZZ+WIDGETS:ZZ+240115:0930+42'"
           b"UNH+1+ORDERS:D:96A:UN'BGM+220+PO1+9'UNT+3+1'UNZ+1+42'")
    ic = read_envelope(raw)
    assert (ic.sender_id, ic.receiver_id, ic.control_number) == ("ACME'S CO", "WIDGETS", "42")
    assert _envelope(raw) == _first(raw)
