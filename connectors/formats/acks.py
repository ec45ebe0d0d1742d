"""X12 acknowledgments Crossdock sends: 997 / 999 for a functional group, TA1 for an interchange.

Built from the findings the reader and the validator attached, returned as an
``Interchange`` (sender and receiver swapped) for ``x12.write``. Control numbers come
from the caller (``next_control_number("isa" | "gs" | "st")``): the hub persists them.

A set is rejected (AK5/IK5 ``R``) for an envelope fault or a missing mandatory segment or
element; other findings accept it with errors (``E``). ``strict=True`` rejects on any.

Usage:
    ack = functional_ack(interchange, group, next_control_number=counters.next)
    payload = x12.write(ack)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Literal

from canonical.errors import Finding
from connectors.formats._findings import code_number
from connectors.formats.model import Delimiters, Group, Interchange, Transaction
from connectors.formats.segments import Segment

__all__ = ["REJECTING", "functional_ack", "interchange_ack", "is_rejecting", "swapped"]

NextControlNumber = Callable[[str], int]

# Findings that reject a set / group rather than accept it with errors.
REJECTING = ("x12.ak5.", "x12.ak9.", "x12.ak3.3", "x12.ak4.1", "x12.ta1.",
             "edifact.0085.13", "edifact.0085.14", "edifact.0085.28", "edifact.0085.29")
# The element each set's business identifier is in: the 999 names it in CTX.
_BUSINESS_UNIT = {"850": ("BEG", 3), "855": ("BAK", 3), "856": ("BSN", 2), "810": ("BIG", 2),
                  "860": ("BCH", 3)}


def is_rejecting(f: Finding, *, strict: bool = False) -> bool:
    """Whether ``f`` rejects the set it is on (every finding does when ``strict``)."""
    return strict or f.code.startswith(REJECTING)


def swapped(ic: Interchange, *, control_number: str, now: dt.datetime,
            version: str | None = None) -> Interchange:
    """An empty interchange back to the sender of ``ic``."""
    x12 = ic.standard == "x12"
    # EDIFACT syntax version 4 dates the UNB with the century (CCYYMMDD).
    long_date = not x12 and (version or ic.version).endswith(":4")
    return Interchange(
        standard=ic.standard, sender_qualifier=ic.receiver_qualifier, sender_id=ic.receiver_id,
        receiver_qualifier=ic.sender_qualifier, receiver_id=ic.sender_id,
        control_number=control_number, date=now.strftime("%Y%m%d" if long_date else "%y%m%d"),
        time=now.strftime("%H%M"), version=version or ic.version,
        delimiters=ic.delimiters, test=ic.test, ack_requested=False,
        encoding=ic.encoding if x12 else "",
    )


def functional_ack(
    interchange: Interchange, group: Group, *, next_control_number: NextControlNumber,
    kind: Literal["997", "999"] | None = None, strict: bool = False,
    now: dt.datetime | None = None,
) -> Interchange:
    """A 997 (004010) or 999 (005010, with IK3/IK4/CTX) for one received functional group.

    ``kind`` defaults to 999 for a 005010 group, 997 otherwise.

    Usage:
        ack = functional_ack(ic, ic.groups[0], next_control_number=lambda kind: 1)
    """
    kind = kind or ("999" if (group.version or "").startswith("005") else "997")
    now = now or dt.datetime.now(dt.UTC)
    is999 = kind == "999"
    version = "005010X231A1" if is999 else "004010"
    out = swapped(interchange, control_number=str(next_control_number("isa")).zfill(9),
                  now=now, version="00501" if is999 else "00401")
    if is999 and out.delimiters.repetition is None:
        d = out.delimiters
        rep = next(c for c in "^|{}" if c not in (d.element, d.component, d.segment))
        out.delimiters = Delimiters(d.element, d.component, d.segment, rep)
    group_codes = [code_number(f.code) for f in group.findings if f.code.startswith("x12.ak9.")]
    group_rejected = bool(group.findings)
    body: list[Segment] = [Segment.simple(
        "AK1", group.functional_id or "", group.control_number or "",
        group.version if is999 else None)]
    accepted = 0
    verdicts: list[str] = []
    for tx in group.transactions:
        status, segments = _set_response(tx, is999, strict, group_rejected)
        body.extend(segments)
        verdicts.append(status)
        accepted += status in ("A", "E")
    included = group.trailer.get(1) if group.trailer is not None else None
    received = len(group.transactions)
    body.append(Segment.simple(
        "AK9", _group_status(verdicts, group_rejected), included if (included or "").isdigit()
        else str(received), str(received), str(accepted), *group_codes[:5]))
    st_control = str(next_control_number("st")).zfill(4)
    ack = Transaction(set_id=kind, control_number=st_control, version=version, segments=[
        Segment.simple("ST", kind, st_control, version if is999 else None), *body])
    out.groups.append(Group(
        functional_id="FA", sender_id=group.receiver_id or interchange.receiver_id,
        receiver_id=group.sender_id or interchange.sender_id,
        control_number=str(next_control_number("gs")), version=version,
        date=now.strftime("%Y%m%d"), time=now.strftime("%H%M"), transactions=[ack]))
    return out


def _group_status(verdicts: list[str], group_rejected: bool) -> str:
    if group_rejected or not verdicts or all(v == "R" for v in verdicts):
        return "R"
    if all(v == "A" for v in verdicts):
        return "A"
    return "P" if "R" in verdicts else "E"


def _set_response(tx: Transaction, is999: bool, strict: bool,
                  group_rejected: bool) -> tuple[str, list[Segment]]:
    out = [Segment.simple("AK2", tx.set_id, tx.control_number,
                          (tx.segments[0].get(3) if is999 and tx.segments else None))]
    set_codes = [code_number(f.code) for f in tx.findings if f.code.startswith("x12.ak5.")]
    by_segment: dict[tuple[int, str], list[Finding]] = {}
    for f in tx.findings:
        if f.code.startswith(("x12.ak3.", "x12.ak4.")) and f.segment_id:
            by_segment.setdefault((f.segment_position or 0, f.segment_id), []).append(f)
    context = _business_unit(tx) if is999 else None
    for (position, tag), found in sorted(by_segment.items()):
        seg_codes = [code_number(f.code) for f in found if f.code.startswith("x12.ak3.")]
        elements = [f for f in found if f.code.startswith("x12.ak4.")]
        for code in seg_codes + (["8"] if elements else []):
            out.append(Segment.simple("IK3" if is999 else "AK3", tag, str(max(position, 1)),
                                      None, code))
            if context is not None:
                out.append(context)
        for f in elements[:99]:
            where = [str(f.element_position), str(f.component_position)] \
                if f.component_position else str(f.element_position)
            out.append(Segment.simple("IK4" if is999 else "AK4", where, None,
                                      code_number(f.code), _clip(f.value)))
    rejected = group_rejected or any(is_rejecting(f, strict=strict) for f in tx.findings)
    status = "R" if rejected else ("E" if tx.findings else "A")
    if rejected and not set_codes and by_segment:
        set_codes = ["5"]  # one or more segments in error
    out.append(Segment.simple("IK5" if is999 else "AK5", status, *set_codes[:5]))
    return status, out


def _business_unit(tx: Transaction) -> Segment | None:
    where = _BUSINESS_UNIT.get(tx.set_id)
    if where is None:
        return None
    for seg in tx.segments[:3]:
        if seg.tag == where[0] and seg.get(where[1]):
            return Segment.simple("CTX", [f"{where[0]}{where[1]:02d}", seg.get(where[1]) or ""])
    return None


def _clip(value: str | None) -> str | None:
    # AK404 is a copy of the bad data, at most 99 characters; a control character would
    # make the acknowledgment itself invalid, so such a copy is left out.
    if not value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return None
    return value[:99]


def interchange_ack(
    interchange: Interchange, *, next_control_number: NextControlNumber,
    note_code: str | None = None, now: dt.datetime | None = None,
) -> Interchange:
    """A TA1 for ``interchange``: accepted (``000``) or with a note code, e.g. ``025``
    (duplicate control number, decided by the hub) or the first envelope finding's.

    Usage:
        ta1 = interchange_ack(ic, next_control_number=counters.next, note_code="025")
    """
    now = now or dt.datetime.now(dt.UTC)
    notes = [code_number(f.code) for f in interchange.findings if f.code.startswith("x12.ta1.")]
    note = note_code or (notes[0] if notes else "000")
    out = swapped(interchange, control_number=str(next_control_number("isa")).zfill(9), now=now)
    date = interchange.date if len(interchange.date) == 6 else now.strftime("%y%m%d")
    time = interchange.time[:4] if len(interchange.time) >= 4 else now.strftime("%H%M")
    out.service_segments.append(Segment.simple(
        "TA1", interchange.control_number.zfill(9)[-9:], date, time,
        "A" if note == "000" else "R", note))
    return out
