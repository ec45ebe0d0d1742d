"""Writing an ``Interchange`` as EDIFACT bytes: escaping, UNH/UNT and UNZ counts.

UNB/UNG/UNH/UNT/UNE/UNZ are (re)built from the model, so a mapping supplies the body;
every service character inside a value is escaped with the release character.
"""

from __future__ import annotations

from canonical.errors import ValidationFailed
from connectors.formats._findings import finding
from connectors.formats._tokens import escape_edifact
from connectors.formats.edifact_charset import encoding_for
from connectors.formats.model import Delimiters, Group, Interchange, Transaction
from connectors.formats.segments import Segment

__all__ = ["DEFAULT_DELIMITERS", "write"]

DEFAULT_DELIMITERS = Delimiters(element="+", component=":", segment="'", release="?")


def write(interchange: Interchange, *, una: bool | None = None, newline: bool = False) -> bytes:
    """The interchange as EDIFACT bytes.

    A UNA is written when the delimiters differ from the defaults (or ``una=True``).

    Usage:
        payload = edifact.write(interchange)
    """
    d = interchange.delimiters
    if d.release is None:
        d = Delimiters(d.element, d.component, d.segment, d.repetition, "?", d.decimal)
    segments: list[Segment] = [_unb(interchange)]
    for group in interchange.groups:
        if group.functional_id:
            segments.append(_ung(interchange, group))
        for tx in group.transactions:
            segments.extend(_message(tx))
        if group.functional_id:
            segments.append(Segment.simple("UNE", str(len(group.transactions)),
                                           group.control_number or ""))
    grouped = any(g.functional_id for g in interchange.groups)
    count = len(interchange.groups) if grouped else len(interchange.transactions())
    segments.append(Segment.simple("UNZ", str(count), interchange.control_number))
    sep = d.segment + "\n" if newline and d.segment != "\n" else d.segment
    text = sep.join(_serialize(seg, d) for seg in segments) + sep
    if una or (una is None and d != DEFAULT_DELIMITERS):
        text = "UNA" + d.component + d.element + d.decimal + (d.release or " ") + (
            d.repetition or " ") + d.segment + ("\n" if newline else "") + text
    syntax = interchange.version.split(":")[0].upper()
    encoding = "ascii" if syntax in ("UNOA", "UNOB") else encoding_for(syntax)
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start:exc.end]
        raise ValidationFailed(
            f"{bad!r} cannot be written under syntax {syntax}",
            findings=[finding("edifact.0085.21", f"{bad!r} is outside {syntax}", value=bad)],
        ) from exc


def _unb(ic: Interchange) -> Segment:
    head = ic.header if ic.header is not None and ic.header.tag == "UNB" else None
    syntax = ic.version.split(":") if ic.version else ["UNOC", "3"]
    elements: list[list[list[str]]] = [
        [syntax],
        [[ic.sender_id, ic.sender_qualifier] if ic.sender_qualifier else [ic.sender_id]],
        [[ic.receiver_id, ic.receiver_qualifier] if ic.receiver_qualifier else [ic.receiver_id]],
        [[ic.date, ic.time]],
        [[ic.control_number]],
    ]
    extra = [e for e in head.elements[5:11]] if head is not None else []
    extra += [[[""]]] * (6 - len(extra))
    extra[3] = [["1" if ic.ack_requested else ""]]
    extra[5] = [["1" if ic.test else ""]]
    elements += extra
    while elements and all(not c for rep in elements[-1] for c in rep):
        elements.pop()
    return Segment("UNB", elements)


def _ung(ic: Interchange, group: Group) -> Segment:
    version = group.version or ""
    return Segment.simple(
        "UNG", group.functional_id, [group.sender_id or ic.sender_id],
        [group.receiver_id or ic.receiver_id], [group.date or ic.date, group.time or ic.time],
        group.control_number or "", "UN", [version[:1], version[1:]] if version else None)


def _message(tx: Transaction) -> list[Segment]:
    segments = list(tx.segments)
    if segments and segments[-1].tag == "UNT":
        segments.pop()
    if segments and segments[0].tag == "UNH":
        unh = segments[0]
        segments[0] = Segment("UNH", [[[tx.control_number]], *unh.elements[1:]], 1)
    else:
        version = tx.version or "D96A"
        s009 = [tx.set_id, version[:1], version[1:], "UN"]
        if tx.association_code:
            s009.append(tx.association_code)
        segments.insert(0, Segment.simple("UNH", tx.control_number, s009))
    segments.append(Segment.simple("UNT", str(len(segments) + 1), tx.control_number))
    return segments


def _serialize(seg: Segment, d: Delimiters) -> str:
    rep = d.repetition or ""
    out = [seg.tag]
    for element in seg.elements:
        out.append(rep.join(
            d.component.join(escape_edifact(c, d) for c in _trimmed(components))
            for components in element))
    return d.element.join(out)


def _trimmed(components: list[str]) -> list[str]:
    # ISO 9735 truncation: trailing empty components are left out, "ABC" not "ABC::".
    end = len(components)
    while end > 1 and not components[end - 1]:
        end -= 1
    return components[:end]
