"""The EDIFACT CONTRL Crossdock sends for a received interchange.

UCI names the received interchange with *its* sender and recipient and says 7
(acknowledged) or 4 (rejected, with the 0085 error, e.g. 26 duplicate); one UCM per
message, with UCS/UCD for each finding. UCD's 0098 counts the segment tag as position 1,
so an element's position there is one more than ``Segment.get``'s.

Usage:
    ack = contrl(interchange, next_control_number=counters.next)
    payload = edifact.write(ack)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from connectors.formats._findings import code_number
from connectors.formats.acks import is_rejecting, swapped
from connectors.formats.model import Group, Interchange, Transaction
from connectors.formats.segments import Segment

__all__ = ["contrl"]

ACKNOWLEDGED, REJECTED = "7", "4"


def contrl(
    interchange: Interchange, *, next_control_number: Callable[[str], int],
    error_code: str | None = None, strict: bool = False, now: dt.datetime | None = None,
) -> Interchange:
    """A CONTRL interchange answering ``interchange``.

    ``error_code`` rejects the whole interchange (e.g. ``"26"`` duplicate, decided by the
    hub); envelope findings on the interchange reject it too, naming the first.

    Usage:
        ack = contrl(ic, next_control_number=lambda kind: 7, error_code="26")
    """
    now = now or dt.datetime.now(dt.UTC)
    out = swapped(interchange, control_number=str(next_control_number("unb")), now=now)
    sender = [interchange.sender_id, interchange.sender_qualifier or ""]
    receiver = [interchange.receiver_id, interchange.receiver_qualifier or ""]
    body: list[Segment]
    fault = next((f for f in interchange.findings if f.code.startswith("edifact.0085.")), None)
    if error_code is not None or fault is not None:
        code = error_code or code_number(fault.code if fault else "")
        tag = (fault.segment_id or "UNB") if fault and error_code is None else "UNB"
        where = [str(fault.element_position + 1)] if fault and fault.element_position \
            and error_code is None else None
        body = [Segment.simple("UCI", interchange.control_number, sender, receiver, REJECTED,
                               code, tag, where)]
    else:
        body = [Segment.simple("UCI", interchange.control_number, sender, receiver,
                               ACKNOWLEDGED)]
        for group in interchange.groups:
            rejected_group = bool(group.findings)
            for tx in group.transactions:
                body.extend(_message(tx, strict, rejected_group))
    reference = str(next_control_number("unh"))
    message = Transaction(set_id="CONTRL", control_number=reference, version="D3",
                          segments=[Segment.simple("UNH", reference, ["CONTRL", "D", "3", "UN"]),
                                    *body])
    out.groups.append(Group(None, None, None, None, None, transactions=[message]))
    return out


def _message(tx: Transaction, strict: bool, rejected_group: bool) -> list[Segment]:
    head = tx.segments[0] if tx.segments and tx.segments[0].tag == "UNH" else None
    s009 = [c for c in (head.elements[1][0] if head is not None and len(head.elements) > 1
                        else [tx.set_id, "D", "96A", "UN"])]
    rejected = rejected_group or any(is_rejecting(f, strict=strict) for f in tx.findings)
    own = [f for f in tx.findings if f.code.startswith("edifact.0085.")]
    envelope = next((f for f in own if f.segment_id in ("UNH", "UNT") or not f.segment_id), None)
    worst = envelope or next((f for f in own if is_rejecting(f)), None) or (own[0] if own else None)
    code = code_number(worst.code) if worst is not None and rejected else None
    service = worst.segment_id if worst is not None and worst is envelope and rejected else None
    out = [Segment.simple("UCM", tx.control_number, s009, REJECTED if rejected else ACKNOWLEDGED,
                          code, service)]
    by_segment: dict[int, list[str | tuple[int, int | None, str]]] = {}
    for f in own:
        if f.segment_position is None or f is envelope:
            continue
        entry: str | tuple[int, int | None, str] = (
            (f.element_position, f.component_position, code_number(f.code))
            if f.element_position else code_number(f.code))
        by_segment.setdefault(f.segment_position, []).append(entry)
    for position, entries in sorted(by_segment.items()):
        seg_codes = [e for e in entries if isinstance(e, str)]
        out.append(Segment.simple("UCS", str(position), seg_codes[0] if seg_codes else None))
        for e in entries:
            if isinstance(e, tuple):
                element, component, err = e
                where = [str(element + 1)] + ([str(component)] if component else [])
                out.append(Segment.simple("UCD", err, where))
    return out
