"""Assembling EDIFACT segments into UNB → (UNG) → UNH envelopes, checking counts.

Findings carry CONTRL syntax error codes (0085): 28 references do not match, 29 control
count does not match, 13 missing, 30 groups and messages mixed, 33 outside a message,
32 lower level empty.
"""

from __future__ import annotations

from itertools import islice

from connectors.formats._findings import EnvelopeContext
from connectors.formats.model import Delimiters, Group, Interchange, Transaction
from connectors.formats.segments import Segment

__all__ = ["assemble"]

_SERVICE = frozenset(("UNH", "UNG", "UNE", "UNZ", "UNB"))


def assemble(
    segments: list[Segment], d: Delimiters, *, partner: str | None, offset: int
) -> Interchange:
    """The interchange these segments (UNB first) make, with envelope findings."""
    unb = segments[0]
    unb.position = 1
    syntax = [c for c in (unb.get(1, 1), unb.get(1, 2)) if c]
    # Positional: a call with keywords costs the interpreter more (one per interchange,
    # message and group). In the order of the fields: standard, sender qualifier and id,
    # receiver qualifier and id, control number, date, time, version, delimiters, test,
    # ack requested, groups, header, offset.
    ic = Interchange(
        "edifact", unb.get(2, 2), unb.get(2) or "", unb.get(3, 2), unb.get(3) or "",
        unb.get(5) or "", unb.get(4, 1) or "", unb.get(4, 2) or "", ":".join(syntax), d,
        unb.get(11) == "1", unb.get(9) == "1", [], unb, offset,
    )
    ctx = EnvelopeContext(f"UNB {ic.control_number}", partner, prefix="edifact.0085.")
    group: Group | None = None
    tx: Transaction | None = None
    count = 0
    explicit_groups = loose_messages = 0
    index = 1  # the interchange position of the segment before ``seg`` (UNB is 1)
    total = len(segments)
    while index < total:
        seg = segments[index]
        index += 1
        tag = seg.tag
        if tx is not None:
            # The message's loop below stopped at this service segment: no UNT came first.
            tx.findings.append(ctx.at("13", f"UNT missing: {tag} came first", envelope=_name(tx)))
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
            # set id, control number, segments, version, association code
            tx = Transaction(seg.get(2, 1) or "", seg.get(1) or "", [seg], version or group.version,
                             seg.get(2, 5))
            group.transactions.append(tx)
            # The message's segments up to its UNT, in a loop of their own (they are most
            # of the interchange); a service segment before the UNT is left to the loop
            # above, the message still open.
            append = tx.segments.append
            for seg in islice(segments, index, None):
                tag = seg.tag
                if tag in _SERVICE:
                    break
                count += 1
                seg.position = count
                append(seg)
                if tag == "UNT":
                    _close_message(tx, ctx)
                    tx = None
                    break
            index += count - 1
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
                _close_group(group, ctx, seg)
            group = None
        elif tag == "UNZ":
            ic.trailer = seg
            break
        else:
            ic.findings.append(ctx.at("33", f"{tag} outside a message", seg=seg))
    if tx is not None:
        tx.findings.append(ctx.at("13", "UNT missing", envelope=_name(tx)))
    if explicit_groups and loose_messages:
        ic.findings.append(ctx.at("30", "messages outside UNG groups beside groups"))
    _close_interchange(ic, ctx, explicit_groups)
    return ic


def _name(tx: Transaction) -> str:
    return f"UNH {tx.control_number} {tx.set_id}"


def _close_message(tx: Transaction, ctx: EnvelopeContext) -> None:
    unt = tx.segments[-1]
    said, ref = unt.get(1), unt.get(2)
    if said != str(len(tx.segments)):
        tx.findings.append(ctx.at(
            "29", f"UNT says {said} segments, the message has {len(tx.segments)}",
            envelope=_name(tx), seg=unt, element=1, value=said))
    if ref != tx.control_number:
        tx.findings.append(ctx.at(
            "28", f"UNT reference {ref} does not match UNH {tx.control_number}",
            envelope=_name(tx), seg=unt, element=2, value=ref))


def _close_group(group: Group, ctx: EnvelopeContext, une: Segment) -> None:
    name = f"UNG {group.control_number}"
    if une.get(1) != str(len(group.transactions)):
        group.findings.append(ctx.at(
            "29", f"UNE says {une.get(1)} messages, the group has {len(group.transactions)}",
            envelope=name, seg=une, element=1, value=une.get(1)))
    if une.get(2) != group.control_number:
        group.findings.append(ctx.at(
            "28", f"UNE reference {une.get(2)} does not match UNG {group.control_number}",
            envelope=name, seg=une, element=2, value=une.get(2)))


def _close_interchange(ic: Interchange, ctx: EnvelopeContext, explicit_groups: int) -> None:
    unz = ic.trailer
    messages = 0
    for group in ic.groups:
        messages += len(group.transactions)
    if not messages:
        ic.findings.append(ctx.at("32", "the interchange carries no message"))
    if unz is None:
        ic.findings.append(ctx.at("13", "UNZ missing: the interchange ends early"))
        return
    actual = explicit_groups or messages
    if unz.get(1) != str(actual):
        what = "groups" if explicit_groups else "messages"
        ic.findings.append(ctx.at(
            "29", f"UNZ says {unz.get(1)} {what}, the interchange has {actual}",
            seg=unz, element=1, value=unz.get(1)))
    if unz.get(2) != ic.control_number:
        ic.findings.append(ctx.at(
            "28", f"UNZ reference {unz.get(2)} does not match UNB {ic.control_number}",
            seg=unz, element=2, value=unz.get(2)))
