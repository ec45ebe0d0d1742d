"""ASC X12 codec: bytes ⇄ ``Interchange`` (ISA/GS/ST … SE/GE/IEA).

Delimiters come from each ISA, so one file may mix partners' conventions. Envelope
problems (counts, control numbers, missing trailers) become findings on the
interchange, group or transaction they belong to; only an ISA that cannot be read at
all raises ``ParseError``.

Usage:
    for interchange in x12.read(payload, partner="acme"):
        for tx in interchange.transactions():
            print(tx.set_id, tx.control_number, len(tx.segments), tx.findings)
    payload = x12.write(interchange)
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import IO, NoReturn

from canonical.errors import ParseError
from connectors.formats._stream import cut, locate
from connectors.formats._tokens import split_x12
from connectors.formats.model import Delimiters, Interchange
from connectors.formats.segments import Segment
from connectors.formats.x12_envelope import assemble
from connectors.formats.x12_writer import write

__all__ = ["parse_interchange", "read", "read_delimiters", "read_stream", "write"]

ISA_LENGTH = 106
_CRLF = b"\r\n"


def read(data: bytes, *, partner: str | None = None) -> Iterator[Interchange]:
    """Every interchange in ``data``, in order, with ``offset`` set to its first byte.

    Usage:
        interchanges = list(x12.read(open("in.edi", "rb").read(), partner="acme"))
    """
    return _read(iter((data,)), partner)


def read_stream(
    fp: IO[bytes], *, partner: str | None = None, chunk_size: int = 1 << 20
) -> Iterator[Interchange]:
    """Like ``read`` but from a binary file object, holding one interchange at a time.

    Usage:
        with open("big.edi", "rb") as fp:
            for interchange in x12.read_stream(fp, partner="acme"):
                ...
    """
    return _read(locate(fp, chunk_size), partner)


def _read(chunks: Iterator[bytes], partner: str | None) -> Iterator[Interchange]:
    def find_end(buf: bytes, start: int, eof: bool) -> int | None:
        return _find_end(buf, start, eof, partner)

    for offset, raw in cut(chunks, find_end, partner=partner):
        yield parse_interchange(raw, offset=offset, partner=partner)


def parse_interchange(raw: bytes, *, offset: int = 0, partner: str | None = None) -> Interchange:
    """One interchange's bytes (starting with ISA) as an ``Interchange``."""
    delimiters, isa_length = read_delimiters(raw, offset=offset, partner=partner)
    body = raw[isa_length:]
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = body.decode("latin-1"), "latin-1"
    # The ISA is sliced by its own length: ISA11 and ISA16 hold the separators themselves
    # and must not be split as data.
    isa_text = raw[:isa_length - 1].decode("latin-1")
    # What ``no_gc()`` does, written out: its generator-based context manager cost about
    # 10,000 instructions per interchange, 2 % of reading an 850.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        segments = split_x12(text, delimiters)
        isa = Segment.flat("ISA", isa_text.split(delimiters.element)[1:])
        segments.insert(0, isa)
        interchange = assemble(segments, delimiters, partner=partner, offset=offset)
    finally:
        if paused:
            gc.enable()
    interchange.encoding = encoding
    return interchange


# Where a fixed-width ISA has its 16 element separators (the one before ISA16 at 103). All are
# checked: an unpadded ISA followed by a GS can have a separator at 103 by chance.
_ISA_SEPARATORS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)


def read_delimiters(
    data: bytes, *, offset: int = 0, partner: str | None = None
) -> tuple[Delimiters, int]:
    """The delimiters an ISA declares, and the ISA's length including its terminator.

    The ISA is fixed width (106 bytes); a partner that does not pad its fields is read
    by counting element separators instead.
    """
    global _LAST_ISA
    head = data[:ISA_LENGTH]
    last = _LAST_ISA
    if head == last[0]:
        return last[1]  # the same ISA again: finding the interchange's end read it first
    if data[:3] != b"ISA" or len(data) < 4:
        _fail("does not start with an ISA segment", data[:16], offset, partner)
    elem = data[3:4]
    if len(data) >= ISA_LENGTH and all(data[i] == elem[0] for i in _ISA_SEPARATORS):
        end = 104
    else:
        end = -1
        at = 3  # the separator before ISA01; the one before ISA16 is the 16th
        for _ in range(15):
            at = data.find(elem, at + 1) if at >= 0 else -1
        end = at + 1 if at >= 0 else -1
        if end <= 0 or end + 2 > len(data):
            _fail("ISA is incomplete: 16 elements, a component separator and a segment "
                  "terminator were expected", data[:ISA_LENGTH], offset, partner)
    component, terminator = data[end:end + 1], data[end + 1:end + 2]
    fields = data[:end].split(elem)
    for what, char in (("element separator", elem), ("component separator", component),
                       ("segment terminator", terminator)):
        if char.isalnum() or char == b" ":
            _fail(f"ISA declares an invalid {what} {char!r}", data[:end + 2], offset, partner)
    if len({elem, component, terminator}) < 3:
        _fail("ISA delimiters are not distinct", data[:end + 2], offset, partner)
    rep = fields[11][:1] if len(fields) > 12 else b""
    repetition = None
    if len(fields) > 12 and fields[12][:5] >= b"00402" and rep and not rep.isalnum() \
            and rep not in (elem, component, terminator, b" "):
        repetition = rep.decode("latin-1")
    found = Delimiters(
        element=elem.decode("latin-1"), component=component.decode("latin-1"),
        segment=terminator.decode("latin-1"), repetition=repetition,
    ), end + 2
    if end == 104:  # a fixed-width ISA: everything above came from its 106 bytes
        _LAST_ISA = (head, found)
    return found


# The last fixed-width ISA read and what it declares (one entry, replaced whole).
_LAST_ISA: tuple[bytes | None, tuple[Delimiters, int]] | tuple[None, None] = (None, None)


def _find_end(buf: bytes, start: int, eof: bool, partner: str | None) -> int | None:
    """End (exclusive) of the interchange starting at ``start``; None: need more bytes."""
    if len(buf) - start < ISA_LENGTH and not eof:
        return None
    d, isa_len = read_delimiters(buf[start:start + ISA_LENGTH + 64], offset=start, partner=partner)
    term, elem = d.segment.encode("latin-1"), d.element.encode("latin-1")
    at = start + isa_len
    iea_tag, isa_tag = b"IEA" + elem, b"ISA" + elem
    while True:
        iea = buf.find(iea_tag, at)
        isa = buf.find(isa_tag, at)
        # the first of the two found (-1: neither)
        hit = isa if iea < 0 or 0 <= isa < iea else iea
        if hit < 0:
            return len(buf) if eof else None  # at EOF: a missing IEA is a finding
        if not _after_terminator(buf, hit, term):
            at = hit + 1
            continue
        if hit == isa:
            return hit  # the next interchange starts before this one's IEA: no IEA
        stop = buf.find(term, hit)
        if stop < 0:
            return len(buf) if eof else None
        return stop + 1


def _after_terminator(buf: bytes, at: int, term: bytes) -> bool:
    i = at - 1
    while i >= 0 and buf[i] in _CRLF and buf[i:i + 1] != term:
        i -= 1
    return i >= 0 and buf[i:i + 1] == term


def _fail(what: str, near: bytes, offset: int, partner: str | None) -> NoReturn:
    who = f"partner {partner}: " if partner else ""
    raise ParseError(
        f"{who}unreadable ISA at byte offset {offset}: {what}",
        partner=partner,
        details={"offset": offset, "segment": "ISA", "near": near[:120].decode("latin-1")},
    )
