"""UN/EDIFACT codec: bytes ⇄ ``Interchange`` (UNA/UNB/UNG/UNH … UNT/UNE/UNZ).

The UNA service string advice sets the delimiters (``:+.? '`` when absent); the UNB
syntax identifier sets the character set: UNOA/UNOB are checked and every character
outside them is reported as a finding, UNOC (and the other ISO 8859 levels) are read as
single bytes, UNOW/UNOY as UTF-8. Without UNG the messages sit in one ``Group`` whose
``functional_id`` is None.

Usage:
    for interchange in edifact.read(payload, partner="acme"):
        for message in interchange.transactions():
            print(message.set_id, message.version, message.findings)
    payload = edifact.write(interchange)
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import IO, NoReturn

from canonical.errors import ParseError
from connectors.formats._findings import finding
from connectors.formats._stream import cut, locate
from connectors.formats._tokens import split_edifact
from connectors.formats.edifact_charset import ENCODINGS, check_charset, encoding_for
from connectors.formats.edifact_envelope import assemble
from connectors.formats.edifact_writer import DEFAULT_DELIMITERS, write
from connectors.formats.model import Delimiters, Interchange

__all__ = ["DEFAULT_DELIMITERS", "parse_interchange", "read", "read_delimiters", "read_stream", "write"]

_CRLF = b"\r\n"


def read(data: bytes, *, partner: str | None = None) -> Iterator[Interchange]:
    """Every interchange in ``data``, in order, with ``offset`` set to its first byte.

    Usage:
        interchanges = list(edifact.read(payload, partner="acme"))
    """
    return _read(iter((data,)), partner)


def read_stream(
    fp: IO[bytes], *, partner: str | None = None, chunk_size: int = 1 << 20
) -> Iterator[Interchange]:
    """Like ``read`` but from a binary file object, holding one interchange at a time.

    Usage:
        with open("big.edi", "rb") as fp:
            for interchange in edifact.read_stream(fp):
                ...
    """
    return _read(locate(fp, chunk_size), partner)


def _read(chunks: Iterator[bytes], partner: str | None) -> Iterator[Interchange]:
    def find_end(buf: bytes, start: int, eof: bool) -> int | None:
        return _find_end(buf, start, eof, partner)

    for offset, raw in cut(chunks, find_end, partner=partner):
        yield parse_interchange(raw, offset=offset, partner=partner)


def parse_interchange(raw: bytes, *, offset: int = 0, partner: str | None = None) -> Interchange:
    """One interchange's bytes (starting with UNA or UNB) as an ``Interchange``."""
    d, body_at = read_delimiters(raw, offset=offset, partner=partner)
    unb_at = body_at
    while raw[unb_at:unb_at + 1] in (b"\r", b"\n"):
        unb_at += 1
    if raw[unb_at:unb_at + 3] != b"UNB" or raw[unb_at + 3:unb_at + 4] != d.element.encode():
        _fail("no UNB segment where the interchange starts", raw[unb_at:unb_at + 40],
              offset + unb_at, partner)
    syntax_end = raw.find(d.component.encode(), unb_at + 4, unb_at + 16)
    syntax = raw[unb_at + 4:syntax_end].decode("latin-1") if syntax_end > 0 else ""
    encoding = encoding_for(syntax)
    body = raw[body_at:]
    try:
        text = body.decode(encoding)
        undecodable = False
    except UnicodeDecodeError:
        text, undecodable = body.decode(encoding, errors="replace"), True
    # What ``no_gc()`` does, written out as x12.parse_interchange does: its generator-based
    # context manager cost about 10,000 instructions per interchange.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        segments = split_edifact(text, d)
        ic = assemble(segments, d, partner=partner, offset=offset)
    finally:
        if paused:
            gc.enable()
    ic.encoding = encoding
    if syntax.upper() not in ENCODINGS:
        ic.findings.append(finding(
            "edifact.0085.2", f"syntax identifier {syntax!r} is not supported", partner=partner,
            interchange=f"UNB {ic.control_number}", segment_id="UNB", segment_position=1,
            element_position=1, component_position=1, value=syntax))
    check_charset(ic, syntax, text, partner=partner, undecodable=undecodable)
    return ic


def read_delimiters(
    data: bytes, *, offset: int = 0, partner: str | None = None
) -> tuple[Delimiters, int]:
    """The delimiters from a UNA (or the defaults) and where the UNB begins."""
    global _LAST_UNA
    head = data[:9]
    last = _LAST_UNA
    if head == last[0]:
        return last[1]  # the same UNA again: finding the interchange's end read it first
    if data[:3] != b"UNA":
        if data[:3] != b"UNB":
            _fail("does not start with UNA or UNB", data[:16], offset, partner)
        return DEFAULT_DELIMITERS, 0
    if len(data) < 9:
        _fail("UNA is shorter than 9 characters", data[:9], offset, partner)
    una = data[3:9].decode("latin-1")
    component, element, decimal, release, reserved, segment = (una[0], una[1], una[2],
                                                               una[3], una[4], una[5])
    if len({component, element, segment}) < 3 or any(
            c.isalnum() for c in (component, element, segment)):
        _fail(f"UNA declares unusable delimiters {una!r}", data[:9], offset, partner)
    found = Delimiters(
        element=element, component=component, segment=segment,
        repetition=None if reserved == " " else reserved,
        release=None if release == " " else release, decimal=decimal,
    ), 9
    _LAST_UNA = (head, found)
    return found


# The last UNA read (its 9 bytes) and what it declares: one entry, replaced whole, so
# reading one interchange after another from the same partner builds its Delimiters once.
_LAST_UNA: tuple[bytes | None, tuple[Delimiters, int]] | tuple[None, None] = (None, None)


def _find_end(buf: bytes, start: int, eof: bool, partner: str | None) -> int | None:
    """End (exclusive) of the interchange starting at ``start``; None: need more bytes."""
    if len(buf) - start < 9 and not eof:
        return None
    d, una_length = read_delimiters(buf[start:start + 9], offset=start, partner=partner)
    term, elem = d.segment.encode("latin-1"), d.element.encode("latin-1")
    release = d.release.encode("latin-1") if d.release else b""
    at = start + una_length + 3
    unz, unb = b"UNZ" + elem, b"UNB" + elem
    while True:
        # The first of UNZ, UNA and UNB from ``at`` (a loop, not a comprehension: that
        # makes a function and a frame each time).
        hit = -1
        for i in (buf.find(unz, at), buf.find(b"UNA", at), buf.find(unb, at)):
            if i >= 0 and (hit < 0 or i < hit):
                hit = i
        if hit < 0:
            return len(buf) if eof else None
        if not _after_terminator(buf, hit, term, release):
            at = hit + 1
            continue
        if buf[hit:hit + 3] != b"UNZ":
            return hit  # the next interchange starts before this one's UNZ
        stop = hit
        while True:
            stop = buf.find(term, stop)
            if stop < 0:
                return len(buf) if eof else None
            if not _released(buf, stop, release):
                return stop + 1
            stop += 1


def header_end(raw: bytes, *, offset: int = 0, partner: str | None = None) -> int:
    """End (exclusive) of the UNA and UNB that ``raw`` starts with: after the UNB's first
    terminator not released (all of ``raw`` when there is none)."""
    d, body_at = read_delimiters(raw[:9], offset=offset, partner=partner)
    term = d.segment.encode("latin-1")
    release = d.release.encode("latin-1") if d.release else b""
    stop = body_at
    while True:
        stop = raw.find(term, stop)
        if stop < 0:
            return len(raw)
        if not _released(raw, stop, release):
            return stop + 1
        stop += 1


def _released(buf: bytes, at: int, release: bytes) -> bool:
    if not release:
        return False
    run = 0
    while at - run - 1 >= 0 and buf[at - run - 1:at - run] == release:
        run += 1
    return run % 2 == 1


def _after_terminator(buf: bytes, at: int, term: bytes, release: bytes) -> bool:
    i = at - 1
    while i >= 0 and buf[i] in _CRLF and buf[i:i + 1] != term:
        i -= 1
    return i >= 0 and buf[i:i + 1] == term and not _released(buf, i, release)


def _fail(what: str, near: bytes, offset: int, partner: str | None) -> NoReturn:
    who = f"partner {partner}: " if partner else ""
    raise ParseError(
        f"{who}unreadable EDIFACT interchange at byte offset {offset}: {what}",
        partner=partner,
        details={"offset": offset, "segment": "UNB", "near": near[:120].decode("latin-1")},
    )
