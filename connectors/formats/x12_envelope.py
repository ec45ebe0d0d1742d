"""Assembling X12 segments into ISA → GS → ST envelopes, checking counts on the way.

Problems become findings on the level they belong to (TA1 note codes on the
interchange, AK905 codes on the group, AK502 codes on the set) so the rest of the
interchange is still delivered.
"""

from __future__ import annotations

from connectors.formats._findings import EnvelopeContext
from connectors.formats.model import Delimiters, Group, Interchange, Transaction
from connectors.formats.segments import Segment

__all__ = ["assemble"]

_ENVELOPE = frozenset(("ST", "GS", "GE", "IEA", "ISA"))


def assemble(
    segments: list[Segment], d: Delimiters, *, partner: str | None, offset: int
) -> Interchange:
    """The interchange these segments (ISA first) make, with envelope findings."""
    isa = segments[0]
    isa.position = 1
    raw = _values(isa, 15)
    v = [(x or "").strip() for x in raw]  # v[n - 1] is ISAn
    # Positional: a call with keywords costs the interpreter more (one per interchange,
    # set and group). In the order of the fields: standard, sender qualifier and id,
    # receiver qualifier and id, control number, date, time, version, delimiters, test,
    # ack requested, groups, header, offset.
    ic = Interchange(
        "x12", v[4] or None, v[5], v[6] or None, v[7], v[12], v[8], v[9], v[11], d,
        v[14] == "T", v[13] == "1", [], isa, offset,
    )
    ctx = EnvelopeContext(f"ISA {ic.control_number}", partner)
    _check_isa(ic, isa, raw, ctx)
    group: Group | None = None
    tx: Transaction | None = None
    count = 0
    for index, seg in enumerate(segments[1:], 2):
        tag = seg.tag
        if tx is not None:
            if tag not in _ENVELOPE:
                count += 1
                seg.position = count
                tx.segments.append(seg)
                if tag == "SE":
                    _close_set(tx, ctx)
                    tx = None
                continue
            tx.findings.append(ctx.at("x12.ak5.2", f"{tag} before the SE of set {tx.control_number}",
                                      envelope=_name(tx)))
            tx = None
        seg.position = index
        if tag == "ST":
            if group is None:
                ic.findings.append(ctx.at("x12.ta1.024", "ST outside a functional group", seg=seg))
                group = Group(None, None, None, None, None)
                ic.groups.append(group)
            count = 1
            seg.position = 1
            st = _values(seg, 3)
            # set id, control number, segments, version
            tx = Transaction(st[0] or "", st[1] or "", [seg], st[2] or group.version)
            group.transactions.append(tx)
        elif tag == "GS":
            if group is not None and group.trailer is None and group.header is not None:
                group.findings.append(ctx.at("x12.ak9.3", "GE missing", envelope=_gname(group)))
            gs = _values(seg, 8)
            # functional id, sender, receiver, control number, version, date, time,
            # transactions, findings, header
            group = Group(gs[0], gs[1], gs[2], gs[5], gs[7], gs[3], gs[4], [], [], seg)
            ic.groups.append(group)
        elif tag == "GE":
            if group is None or group.header is None:
                ic.findings.append(ctx.at("x12.ta1.024", "GE without a GS", seg=seg))
            else:
                group.trailer = seg
                _close_group(group, ctx, seg)
                group = None
        elif tag == "IEA":
            ic.trailer = seg
            break
        elif tag == "TA1":
            ic.service_segments.append(seg)
        else:
            ic.findings.append(ctx.at("x12.ta1.024", f"{tag} outside a transaction set", seg=seg))
    if group is not None and group.header is not None and group.trailer is None:
        group.findings.append(ctx.at("x12.ak9.3", "GE missing", envelope=_gname(group)))
    _close_interchange(ic, ctx)
    return ic


def _valid_time(value: str) -> bool:
    return len(value) == 4 and value.isdigit() and value[:2] < "24" and value[2:] < "60"


def _valid_date(value: str) -> bool:
    return len(value) == 6 and value.isdigit() and "01" <= value[2:4] <= "12" \
        and "01" <= value[4:] <= "31"


# ISA elements a TA1 note code (I18) names, and how each is checked.
_ISA_CHECKS = (
    (9, "014", "interchange date", _valid_date),
    (10, "015", "interchange time", _valid_time),
    (12, "017", "interchange version", lambda v: len(v) == 5 and v.isdigit()),
    (13, "018", "interchange control number", lambda v: len(v) == 9 and v.isdigit()),
    (14, "019", "acknowledgment requested", lambda v: v in ("0", "1")),
    (15, "020", "test indicator", lambda v: v in ("P", "T", "I")),
)


def _values(seg: Segment, count: int) -> list[str | None]:
    """``[seg.get(1), …, seg.get(count)]``, from the flat values when the segment has them."""
    values = seg.values if seg._elements is None else None
    if values is None:
        return [seg.get(n) for n in range(1, count + 1)]
    out: list[str | None] = [x or None for x in values[:count]]
    if len(out) < count:
        out += [None] * (count - len(out))
    return out


def _check_isa(ic: Interchange, isa: Segment, raw: list[str | None],
               ctx: EnvelopeContext) -> None:
    for element, note, what, valid in _ISA_CHECKS:
        value = raw[element - 1] or ""
        if not valid(value):
            ic.findings.append(ctx.at(f"x12.ta1.{note}", f"invalid {what} {value!r}", seg=isa,
                                      element=element, value=value))


def _name(tx: Transaction) -> str:
    return f"ST {tx.set_id} {tx.control_number}"


def _gname(group: Group) -> str:
    return f"GS {group.functional_id} {group.control_number}"


def _flagged(tx: Transaction) -> bool:
    return any(f.code == "x12.ak5.2" for f in tx.findings)


def _close_set(tx: Transaction, ctx: EnvelopeContext) -> None:
    se = tx.segments[-1]
    said, ref = _values(se, 2)
    if said != str(len(tx.segments)):
        tx.findings.append(ctx.at(
            "x12.ak5.4", f"SE01 says {said} segments, the set has {len(tx.segments)}",
            envelope=_name(tx), seg=se, element=1, value=said))
    if ref != tx.control_number:
        tx.findings.append(ctx.at(
            "x12.ak5.3", f"SE02 {ref} does not match ST02 {tx.control_number}",
            envelope=_name(tx), seg=se, element=2, value=ref))


def _close_group(group: Group, ctx: EnvelopeContext, ge: Segment) -> None:
    seen: set[str] = set()
    for tx in group.transactions:
        if tx.segments[-1].tag != "SE" and not _flagged(tx):
            tx.findings.append(ctx.at("x12.ak5.2", "SE missing", envelope=_name(tx)))
        if tx.control_number in seen:
            tx.findings.append(ctx.at("x12.ak5.23", f"ST02 {tx.control_number} used twice in "
                                      "the group", envelope=_name(tx)))
        seen.add(tx.control_number)
    said = ge.get(1)
    if said != str(len(group.transactions)):
        group.findings.append(ctx.at(
            "x12.ak9.5", f"GE01 says {said} sets, the group has {len(group.transactions)}",
            envelope=_gname(group), seg=ge, element=1, value=said))
    if ge.get(2) != group.control_number:
        group.findings.append(ctx.at(
            "x12.ak9.4", f"GE02 {ge.get(2)} does not match GS06 {group.control_number}",
            envelope=_gname(group), seg=ge, element=2, value=ge.get(2)))


def _close_interchange(ic: Interchange, ctx: EnvelopeContext) -> None:
    for group in ic.groups:
        for tx in group.transactions:
            if tx.segments[-1].tag != "SE" and not _flagged(tx):
                tx.findings.append(ctx.at("x12.ak5.2", "SE missing", envelope=_name(tx)))
    iea = ic.trailer
    if iea is None:
        ic.findings.append(ctx.at("x12.ta1.023", "IEA missing: the interchange ends early"))
        return
    said = iea.get(1)
    if said != str(len([g for g in ic.groups if g.header is not None])):
        ic.findings.append(ctx.at(
            "x12.ta1.021", f"IEA01 says {said} groups, the interchange has {len(ic.groups)}",
            seg=iea, element=1, value=said))
    if (iea.get(2) or "").strip() != ic.control_number:
        ic.findings.append(ctx.at(
            "x12.ta1.001", f"IEA02 {iea.get(2)} does not match ISA13 {ic.control_number}",
            seg=iea, element=2, value=iea.get(2)))
