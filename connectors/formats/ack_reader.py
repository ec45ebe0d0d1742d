"""Reading the acknowledgments partners send back: 997, 999, TA1 and CONTRL.

The hub matches ``FunctionalAck`` against what it sent (group control number + ST02s,
or interchange reference + UNH references) to mark each accepted or rejected.

Usage:
    for tx in interchange.transactions():
        if tx.set_id in ("997", "999", "CONTRL"):
            ack = read_functional_ack(tx)
    for seg in interchange.service_segments:   # TA1
        ack = read_functional_ack(seg)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from canonical.errors import Finding, ParseError
from connectors.formats._findings import finding
from connectors.formats.model import Transaction
from connectors.formats.segments import Segment

__all__ = ["FunctionalAck", "SetAck", "read_functional_ack"]

_ACCEPTING = frozenset(("A", "E", "M", "W", "7", "8"))


@dataclass(frozen=True, slots=True)
class SetAck:
    """The verdict on one set / message that was sent (AK2+AK5, IK5 or UCM)."""

    set_id: str
    control_number: str
    status: str  # AK501/IK501 A E M R W X, or UCM 0083 7 / 4
    codes: tuple[str, ...] = ()  # AK502.. / UCM 0085
    findings: tuple[Finding, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.status in _ACCEPTING


@dataclass(frozen=True, slots=True)
class FunctionalAck:
    """The verdict on a group (997/999), an interchange (TA1) or both (CONTRL)."""

    kind: str  # "997", "999", "TA1", "CONTRL"
    status: str  # AK901 A E P R; TA104 A E R; UCI 0083 7 4 8
    functional_id: str | None = None  # AK101
    group_control_number: str | None = None  # AK102
    interchange_control_number: str | None = None  # TA101 / UCI 0020
    codes: tuple[str, ...] = ()  # AK905.. / TA105 / UCI 0085
    sets: tuple[SetAck, ...] = ()
    counts: tuple[int, int, int] | None = None  # AK902 included, AK903 received, AK904 accepted
    findings: tuple[Finding, ...] = field(default=())

    @property
    def accepted(self) -> bool:
        """Whether the group/interchange as a whole was accepted (P counts as not)."""
        return self.status in _ACCEPTING

    def rejected_sets(self) -> list[str]:
        return [s.control_number for s in self.sets if not s.accepted]


def read_functional_ack(item: Transaction | Segment) -> FunctionalAck:
    """A 997/999/CONTRL transaction, or a TA1 segment, as a ``FunctionalAck``.

    Usage:
        ack = read_functional_ack(tx)
        ack.accepted, [s.control_number for s in ack.sets if not s.accepted]
    """
    if isinstance(item, Segment):
        if item.tag != "TA1":
            raise ParseError(f"{item.tag} is not an acknowledgment segment")
        note = item.get(5) or ""
        return FunctionalAck(kind="TA1", status=item.get(4) or "",
                             interchange_control_number=item.get(1),
                             codes=(note,) if note else ())
    if item.set_id in ("997", "999"):
        return _x12(item)
    if item.set_id == "CONTRL":
        return _contrl(item)
    raise ParseError(f"{item.set_id} {item.control_number} is not an acknowledgment")


def _x12(tx: Transaction) -> FunctionalAck:
    ak1: Segment | None = None
    ak9: Segment | None = None
    sets: list[SetAck] = []
    current: tuple[str, str] | None = None
    found: list[Finding] = []
    segment: Segment | None = None
    for seg in tx.segments:
        tag = seg.tag
        if tag == "AK1":
            ak1 = seg
        elif tag == "AK2":
            current, found, segment = (seg.get(1) or "", seg.get(2) or ""), [], None
        elif tag in ("AK3", "IK3"):
            segment = seg
            code = seg.get(4) or ""
            if code != "8":
                found.append(_seg_finding(tx, seg, f"x12.ak3.{code}"))
        elif tag in ("AK4", "IK4") and segment is not None:
            found.append(finding(
                f"x12.ak4.{seg.get(3) or ''}", f"element error {seg.get(3)} reported",
                envelope=f"ST {current[0] if current else ''} {current[1] if current else ''}",
                segment_id=segment.get(1), segment_position=_int(segment.get(2)),
                element_position=_int(seg.get(1, 1)), component_position=_int(seg.get(1, 2)),
                value=seg.get(4)))
        elif tag in ("AK5", "IK5") and current is not None:
            codes = tuple(c for c in (seg.get(n) for n in range(2, 7)) if c)
            sets.append(SetAck(current[0], current[1], seg.get(1) or "", codes, tuple(found)))
            current = None
        elif tag == "AK9":
            ak9 = seg
    if ak1 is None or ak9 is None:
        raise ParseError(f"{tx.set_id} {tx.control_number} has no {'AK1' if ak1 is None else 'AK9'}")
    counts = tuple(_int(ak9.get(n)) or 0 for n in (2, 3, 4))
    return FunctionalAck(
        kind=tx.set_id, status=ak9.get(1) or "", functional_id=ak1.get(1),
        group_control_number=ak1.get(2), sets=tuple(sets),
        codes=tuple(c for c in (ak9.get(n) for n in range(5, 10)) if c),
        counts=(counts[0], counts[1], counts[2]))


def _seg_finding(tx: Transaction, seg: Segment, code: str) -> Finding:
    return finding(code, f"segment error {code.rsplit('.', 1)[-1]} reported",
                   segment_id=seg.get(1), segment_position=_int(seg.get(2)))


def _contrl(tx: Transaction) -> FunctionalAck:
    uci: Segment | None = None
    sets: list[SetAck] = []
    ucm: Segment | None = None
    found: list[Finding] = []
    position: int | None = None

    def close() -> None:
        if ucm is not None:
            code = ucm.get(4)
            sets.append(SetAck(ucm.get(2) or "", ucm.get(1) or "", ucm.get(3) or "",
                               (code,) if code else (), tuple(found)))

    for seg in tx.segments:
        if seg.tag == "UCI":
            uci = seg
        elif seg.tag == "UCM":
            close()
            ucm, found, position = seg, [], None
        elif seg.tag == "UCS":
            position = _int(seg.get(1))
            if seg.get(2):
                found.append(finding(f"edifact.0085.{seg.get(2)}", "segment error reported",
                                     segment_position=position))
        elif seg.tag == "UCD":
            element = _int(seg.get(2, 1))
            found.append(finding(
                f"edifact.0085.{seg.get(1) or ''}", "element error reported",
                segment_position=position, element_position=element - 1 if element else None,
                component_position=_int(seg.get(2, 2))))
    close()
    if uci is None:
        raise ParseError(f"CONTRL {tx.control_number} has no UCI")
    code = uci.get(5)
    return FunctionalAck(kind="CONTRL", status=uci.get(4) or "",
                         interchange_control_number=uci.get(1), codes=(code,) if code else (),
                         sets=tuple(sets))


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
