"""Writing an ``Interchange`` as X12 bytes, with every count and control number computed.

ST/SE, GS/GE and ISA/IEA are (re)built from the model, so a mapping only has to supply
the body segments; SE01, GE01 and IEA01 always match what is written.
"""

from __future__ import annotations

from canonical.errors import ValidationFailed
from connectors.formats._findings import finding
from connectors.formats.model import Delimiters, Group, Interchange, Transaction
from connectors.formats.segments import Segment

__all__ = ["FUNCTIONAL_IDS", "write"]

# GS01 for the sets Crossdock sends, when a group does not name its own.
FUNCTIONAL_IDS = {"850": "PO", "855": "PR", "856": "SH", "810": "IN", "860": "PC",
                  "865": "CA", "997": "FA", "999": "FA"}


def write(interchange: Interchange, *, encoding: str | None = None, newline: bool = False) -> bytes:
    """The interchange as X12 bytes: fixed-width ISA, GS/ST … SE/GE/IEA with correct counts.

    Usage:
        payload = x12.write(interchange)                 # one line
        readable = x12.write(interchange, newline=True)  # a line per segment
    """
    d = interchange.delimiters
    lines = [_isa(interchange)]
    body: list[Segment] = list(interchange.service_segments)
    for group in interchange.groups:
        body.append(_gs(interchange, group))
        for tx in group.transactions:
            body.extend(_set(tx))
        body.append(Segment.simple("GE", str(len(group.transactions)), group.control_number or ""))
    body.append(Segment.simple("IEA", str(len(interchange.groups)),
                               interchange.control_number.zfill(9)))
    lines.extend(_serialize(seg, d) for seg in body)
    sep = d.segment + "\n" if newline and d.segment != "\n" else d.segment
    text = sep.join(lines) + sep
    return text.encode(encoding or interchange.encoding or "utf-8")


def _isa(ic: Interchange) -> str:
    d = ic.delimiters
    head = ic.header

    def keep(n: int, default: str, width: int) -> str:
        value = head.get(n) if head is not None and head.tag == "ISA" else None
        return (value or default).ljust(width)[:width]

    date = ic.date[-6:] if len(ic.date) >= 6 else ic.date.rjust(6, "0")
    fields = [
        "ISA", keep(1, "00", 2), keep(2, "", 10), keep(3, "00", 2), keep(4, "", 10),
        (ic.sender_qualifier or "ZZ").ljust(2), ic.sender_id.ljust(15)[:15],
        (ic.receiver_qualifier or "ZZ").ljust(2), ic.receiver_id.ljust(15)[:15],
        date, ic.time[:4].rjust(4, "0"), d.repetition or "U", (ic.version or "00401")[:5],
        ic.control_number.zfill(9)[-9:], "1" if ic.ack_requested else "0",
        "T" if ic.test else "P", d.component,
    ]
    return d.element.join(fields)


def _gs(ic: Interchange, group: Group) -> Segment:
    first = group.transactions[0].set_id if group.transactions else ""
    date = group.date or (("20" + ic.date) if len(ic.date) == 6 else ic.date)
    return Segment.simple(
        "GS", group.functional_id or FUNCTIONAL_IDS.get(first, "ZZ"),
        group.sender_id or ic.sender_id, group.receiver_id or ic.receiver_id, date,
        group.time or ic.time, group.control_number or "", "X", group.version or "004010",
    )


def _set(tx: Transaction) -> list[Segment]:
    segments = list(tx.segments)
    if segments and segments[-1].tag == "SE":
        segments.pop()
    if segments and segments[0].tag == "ST":
        st = segments[0]
        elements = [[[tx.set_id]], [[tx.control_number]], *st.elements[2:]]
        segments[0] = Segment("ST", elements, 1)
    else:
        segments.insert(0, Segment.simple("ST", tx.set_id, tx.control_number))
    segments.append(Segment.simple("SE", str(len(segments) + 1), tx.control_number))
    return segments


def _serialize(seg: Segment, d: Delimiters) -> str:
    rep = d.repetition or ""
    out = [seg.tag]
    for position, element in enumerate(seg.elements, 1):
        for components in element:
            for value in components:
                if d.element in value or d.segment in value or d.component in value or (
                        rep and rep in value):
                    raise ValidationFailed(
                        f"{seg.tag}{position:02d} contains a delimiter and X12 cannot escape it",
                        findings=[finding("x12.ak4.6", "value contains a delimiter",
                                          segment_id=seg.tag, segment_position=seg.position,
                                          element_position=position, value=value)])
        out.append(rep.join(d.component.join(c) for c in element))
    return d.element.join(out)
