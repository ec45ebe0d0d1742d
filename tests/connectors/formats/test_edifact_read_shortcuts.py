"""The fourth round of EDIFACT read shortcuts against the code they stand in for.

- ``_released_segment`` splitting and unescaping only the elements and components that
  hold a release character builds the same segment as splitting and unescaping them all;
- ``edifact.read_delimiters`` answering a repeated UNA from its last result answers (or
  fails) for any start of an interchange as if nothing had been read before;
- ``_find_end`` picking the first of UNZ/UNA/UNB with a loop finds the end the
  comprehension found, for streams of interchanges cut anywhere;
- reading the golden EDIFACT files and randomly mutated copies of them (released
  separators, doubled and trailing release characters, repetition separators, other
  UNAs) gives the same interchanges, segments, positions and findings as reading them
  with the previous ``_released_segment``, no remembered UNA and the previous
  ``assemble`` (one loop for every segment, not a loop of its own for a message's).
"""

from __future__ import annotations

import contextlib
import random
from pathlib import Path
from typing import Any

import pytest

from canonical.errors import ParseError
from connectors.formats import _tokens, edifact, edifact_envelope
from connectors.formats._findings import EnvelopeContext
from connectors.formats._tokens import _released_segment, split_released, unescape
from connectors.formats.edifact import _after_terminator, _released
from connectors.formats.model import Delimiters, Group, Interchange, Transaction
from connectors.formats.segments import Segment
from connectors.formats.validator import validate_interchange

_GOLDEN = sorted([*Path(__file__).parent.glob("golden/in/edifact_*.edi"),
                  *(Path(__file__).parents[2] / "mappings" / "golden").glob("edifact_*.edi")])


def _released_segment_reference(raw: str, d: Delimiters, release: str) -> Segment:
    """``_released_segment`` as it was: every element and component through the
    escape-aware split and ``unescape``."""
    parts = split_released(raw, d.element, release)
    elements: list[list[list[str]]] = []
    for p in parts[1:]:
        reps = split_released(p, d.repetition, release) if d.repetition else [p]
        elements.append([
            [unescape(c, release) for c in split_released(r, d.component, release)] for r in reps
        ])
    return Segment(unescape(parts[0], release), elements)


def _assemble_reference(
    segments: list[Segment], d: Delimiters, *, partner: str | None, offset: int
) -> Interchange:
    """``edifact_envelope.assemble`` as it was: every segment through one loop."""
    unb = segments[0]
    unb.position = 1
    syntax = [c for c in (unb.get(1, 1), unb.get(1, 2)) if c]
    ic = Interchange(
        standard="edifact", sender_qualifier=unb.get(2, 2), sender_id=unb.get(2) or "",
        receiver_qualifier=unb.get(3, 2), receiver_id=unb.get(3) or "",
        control_number=unb.get(5) or "", date=unb.get(4, 1) or "", time=unb.get(4, 2) or "",
        version=":".join(syntax), delimiters=d, test=unb.get(11) == "1",
        ack_requested=unb.get(9) == "1", header=unb, offset=offset,
    )
    ctx = EnvelopeContext(f"UNB {ic.control_number}", partner, prefix="edifact.0085.")
    group: Group | None = None
    tx: Transaction | None = None
    count = 0
    explicit_groups = loose_messages = 0
    for index, seg in enumerate(segments[1:], 2):
        tag = seg.tag
        if tx is not None:
            if tag not in edifact_envelope._SERVICE:
                count += 1
                seg.position = count
                tx.segments.append(seg)
                if tag == "UNT":
                    edifact_envelope._close_message(tx, ctx)
                    tx = None
                continue
            tx.findings.append(ctx.at("13", f"UNT missing: {tag} came first", envelope=edifact_envelope._name(tx)))
            tx = None
        seg.position = index
        if tag == "UNH":
            if group is None:
                loose_messages += 1
                group = Group(None, None, None, None, None)
                ic.groups.append(group)
            count = 1
            seg.position = 1
            version = (seg.get(2, 2) or "") + (seg.get(2, 3) or "")
            tx = Transaction(set_id=seg.get(2, 1) or "", control_number=seg.get(1) or "",
                             segments=[seg], version=version or group.version,
                             association_code=seg.get(2, 5))
            group.transactions.append(tx)
        elif tag == "UNG":
            explicit_groups += 1
            group = Group(
                functional_id=seg.get(1), sender_id=seg.get(2), receiver_id=seg.get(3),
                control_number=seg.get(5), version=((seg.get(7, 1) or "") + (seg.get(7, 2) or ""))
                or None, date=seg.get(4, 1), time=seg.get(4, 2), header=seg)
            ic.groups.append(group)
        elif tag == "UNE":
            if group is None or group.header is None:
                ic.findings.append(ctx.at("33", "UNE without a UNG", seg=seg))
            else:
                group.trailer = seg
                edifact_envelope._close_group(group, ctx, seg)
            group = None
        elif tag == "UNZ":
            ic.trailer = seg
            break
        else:
            ic.findings.append(ctx.at("33", f"{tag} outside a message", seg=seg))
    if tx is not None:
        tx.findings.append(ctx.at("13", "UNT missing", envelope=edifact_envelope._name(tx)))
    if explicit_groups and loose_messages:
        ic.findings.append(ctx.at("30", "messages outside UNG groups beside groups"))
    edifact_envelope._close_interchange(ic, ctx, explicit_groups)
    return ic


def _dump_segment(seg: Segment) -> tuple[str, Any, int, Any]:
    return seg.tag, seg.elements, seg.position, seg.values


@pytest.mark.parametrize("repetition", [None, "*"])
@pytest.mark.parametrize("release", ["?", "!"])
def test_released_segment_builds_what_unescaping_everything_builds(
        repetition: str | None, release: str) -> None:
    d = Delimiters(element="+", component=":", segment="'", repetition=repetition,
                   release=release, decimal=".")
    rnd = random.Random(f"{release}{repetition}")
    alphabet = ["A", "B", "1", " ", "+", ":", "*", "'", release, release * 2, "."]
    checked = 0
    for _ in range(3000):
        raw = rnd.choice(["FTX", "NAD", "Q" + release + "T", release + "X"]) + "+"
        raw += "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 16)))
        if release not in raw:
            continue
        assert _dump_segment(_released_segment(raw, d, release)) == _dump_segment(
            _released_segment_reference(raw, d, release)), repr(raw)
        checked += 1
    assert checked > 2000


_UNA = b"UNA:+.? '"


def _outcome(data: bytes, *, before: bytes | None) -> Any:
    edifact._LAST_UNA = (None, None)
    if before is not None:
        with contextlib.suppress(ParseError):
            edifact.read_delimiters(before)
    try:
        return edifact.read_delimiters(data, offset=3, partner="p")
    except ParseError as exc:
        return type(exc), str(exc), exc.details


def test_read_delimiters_answers_as_if_nothing_was_read_before() -> None:
    unb = b"UNB+UNOC:3+A:14+B:14+240115:0930+1'"
    assert _outcome(_UNA + unb, before=None) == (
        Delimiters(element="+", component=":", segment="'", release="?", decimal="."), 9)
    other = b"UNA|^,! ~"
    cases = [_UNA, _UNA + unb, other + unb, b"UNA:+.?*'", b"UNA:+,? '", unb, b"UNB", b"",
             b"UN", b"UNA", b"UNA:+.? ", b"UNA:::? '", b"UNA:+.?  ", b"UNAa+.? '",
             b"XYZ:+.? '", b"UNA:+.? 'UNB"]
    for data in cases:
        for before in (_UNA, other, _UNA + unb, unb, b"UNA:+.? ", None):
            assert _outcome(data, before=before) == _outcome(data, before=None), (data, before)
    edifact._LAST_UNA = (None, None)


def _mutations(data: bytes, rnd: random.Random) -> list[bytes]:
    text = data.decode("latin-1")
    out = [data]
    for _ in range(40):
        t = text
        for _ in range(rnd.randrange(1, 4)):
            k = rnd.randrange(len(t) + 1)
            t = t[:k] + rnd.choice(["?+", "??", "?:", "?'", "?", "*", "?*", ":", "+", "'\n",
                                    "?\n", "UNH+9+", "UNT+2+9'", "X"]) + t[k:]
        segs = t.split("'")
        for _ in range(rnd.randrange(0, 3)):  # segments dropped, repeated, envelopes added
            if len(segs) < 2:
                break
            k = rnd.randrange(len(segs))
            choice = rnd.randrange(3)
            if choice == 0:
                del segs[k]
            elif choice == 1:
                segs.insert(k, segs[k])
            else:
                segs.insert(k, rnd.choice(["\nUNG+ORDERS+A+B+240115:0930+7+UN+D:96A",
                                           "\nUNE+1+7", "\nUNH+8+ORDERS:D:96A:UN",
                                           "\nUNT+3+8", "\nUNZ+1+1", "\nUNB+UNOC:3+A+B+240115:0930+2",
                                           "\nUNS+S"]))
        t = "'".join(segs)
        if rnd.random() < 0.2 and t.startswith("UNA"):
            t = "UNA:+.?*'" + t[9:]
        if rnd.random() < 0.2 and t.startswith("UNA"):
            t = "UNA:+.! '" + t[9:]
        out.append(t.encode("latin-1"))
    return out


def _dump(ic: Interchange) -> Any:
    return (ic.standard, ic.sender_id, ic.receiver_id, ic.control_number, ic.version,
            ic.delimiters, ic.encoding, [repr(f) for f in ic.findings],
            _dump_segment(ic.header) if ic.header else None,
            _dump_segment(ic.trailer) if ic.trailer else None,
            [(g.functional_id, g.control_number, g.version, [repr(f) for f in g.findings],
              [(tx.set_id, tx.control_number, tx.version, tx.association_code,
                [repr(f) for f in tx.findings], [_dump_segment(s) for s in tx.segments])
               for tx in g.transactions]) for g in ic.groups])


def _read(data: bytes) -> Any:
    try:
        out = []
        for ic in edifact.read(data, partner="acme"):
            validate_interchange(ic, partner="acme")
            out.append(_dump(ic))
        return out
    except ParseError as exc:
        return type(exc), str(exc)


def test_reading_golden_and_mutated_files_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _GOLDEN
    rnd = random.Random(4)
    inputs = [m for path in _GOLDEN for m in _mutations(path.read_bytes(), rnd)]
    edifact._LAST_UNA = (None, None)
    fast = [_read(data) for data in inputs]
    with monkeypatch.context() as patch:
        patch.setattr(_tokens, "_released_segment", _released_segment_reference)
        patch.setattr(edifact, "assemble", _assemble_reference)
        slow = []
        for data in inputs:
            edifact._LAST_UNA = (None, None)
            slow.append(_read(data))
    edifact._LAST_UNA = (None, None)
    assert fast == slow
    assert sum(1 for r in fast if isinstance(r, list) and r) > len(inputs) // 2


def _find_end_reference(buf: bytes, start: int, eof: bool, partner: str | None) -> int | None:
    """``edifact._find_end`` as it was (the hits gathered by a comprehension)."""
    if len(buf) - start < 9 and not eof:
        return None
    d, una_length = edifact.read_delimiters(buf[start:start + 9], offset=start, partner=partner)
    term, elem = d.segment.encode("latin-1"), d.element.encode("latin-1")
    release = d.release.encode("latin-1") if d.release else b""
    at = start + una_length + 3
    while True:
        hits = [i for i in (buf.find(b"UNZ" + elem, at), buf.find(b"UNA", at),
                            buf.find(b"UNB" + elem, at)) if i >= 0]
        if not hits:
            return len(buf) if eof else None
        hit = min(hits)
        if not _after_terminator(buf, hit, term, release):
            at = hit + 1
            continue
        if buf[hit:hit + 3] != b"UNZ":
            return hit
        stop = hit
        while True:
            stop = buf.find(term, stop)
            if stop < 0:
                return len(buf) if eof else None
            if not _released(buf, stop, release):
                return stop + 1
            stop += 1


def _end(find: Any, buf: bytes, start: int, eof: bool) -> Any:
    edifact._LAST_UNA = (None, None)
    try:
        return find(buf, start, eof, "p")
    except ParseError as exc:
        return str(exc)


def test_find_end_finds_what_the_comprehension_found() -> None:
    rnd = random.Random(5)
    files = [path.read_bytes() for path in _GOLDEN]
    checked = 0
    for _ in range(400):
        parts = [rnd.choice(files) for _ in range(rnd.randrange(1, 4))]
        buf = b"\n".join(rnd.choice(_mutations(p, rnd)[:4]) for p in parts)
        if rnd.random() < 0.3:
            buf = buf[:rnd.randrange(len(buf) + 1)]
        for eof in (True, False):
            for start in {0, rnd.randrange(len(buf) + 1)}:
                assert _end(edifact._find_end, buf, start, eof) == _end(
                    _find_end_reference, buf, start, eof), (buf, start, eof)
                checked += 1
    edifact._LAST_UNA = (None, None)
    assert checked > 1000
