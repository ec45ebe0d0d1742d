"""Format codecs: bytes from a partner ⇄ envelopes of segments (X12, UN/EDIFACT).

Usage:
    from connectors.formats import read_any, sniff
    if sniff(payload) is not None:
        for interchange in read_any(payload, partner="acme"):
            ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from canonical.errors import ParseError
from connectors.formats import edifact, x12
from connectors.formats._stream import _skip
from connectors.formats.model import Delimiters, Group, Interchange, Transaction
from connectors.formats.segments import Segment

__all__ = ["Delimiters", "Group", "Interchange", "Segment", "Transaction", "read_any", "read_envelope", "sniff"]

_BOM = b"\xef\xbb\xbf"
_LEAD = b" \t\r\n\x00"


def sniff(data: bytes) -> Literal["x12", "edifact"] | None:
    """Which EDI standard ``data`` is, from its first segment tag (after BOM/whitespace).

    Usage:
        sniff(b"ISA*00*...")  # "x12"
    """
    head = data[:4096]
    if head.startswith(_BOM):
        head = head[len(_BOM):]
    head = head.lstrip(_LEAD)
    if head[:3] == b"ISA" and len(head) > 3 and not head[3:4].isalnum():
        return "x12"
    if head[:3] == b"UNA" or (head[:3] == b"UNB" and len(head) > 3 and not head[3:4].isalnum()):
        return "edifact"
    return None


def read_any(data: bytes, *, partner: str | None = None) -> Iterator[Interchange]:
    """The interchanges in ``data``, X12 or EDIFACT as sniffed.

    Usage:
        interchanges = list(read_any(payload, partner="acme"))
    """
    kind = sniff(data)
    if kind == "x12":
        return x12.read(data, partner=partner)
    if kind == "edifact":
        return edifact.read(data, partner=partner)
    who = f"partner {partner}: " if partner else ""
    raise ParseError(f"{who}not an X12 or EDIFACT interchange at byte offset 0: starts with "
                     f"{data[:16]!r}", partner=partner, details={"offset": 0})


def read_envelope(data: bytes, *, partner: str | None = None) -> Interchange:
    """The first interchange's header alone (its ISA, or its UNA and UNB), read by the same
    code as ``read_any`` reads it: the same sender, receiver, control number and envelope
    findings, with no groups. What a door needs to tell whose an interchange is, without
    reading its sets first (a 10 MB interchange took half a second). Raises ``ParseError``
    where ``read_any`` fails on the header.

    Usage:
        ic = read_envelope(payload)
        ic.sender_id, ic.receiver_id  # "ACMESTORES", "WIDGETSUPPLY"
    """
    kind = sniff(data)
    start = _skip(data, 0)
    head = data[start:]
    if kind == "x12":
        _, length = x12.read_delimiters(head, offset=start, partner=partner)
        return x12.parse_interchange(head[:length], offset=start, partner=partner)
    if kind == "edifact":
        end = edifact.header_end(head, offset=start, partner=partner)
        return edifact.parse_interchange(head[:end], offset=start, partner=partner)
    return next(read_any(data, partner=partner))  # raises: not an interchange
