"""Acknowledgments both ways: what Crossdock answers, and what partners' answers mean.

Answering (per received interchange, in the partner's own words):
  * X12: a 997 (or 999) per functional group, accepting or rejecting each set with its
    AK3/AK4 findings; a TA1 when ISA14 asks, when the profile says always, or alone when the
    envelope is broken (no group inside was read). Groups of 997/999 are never acknowledged.
  * EDIFACT: a CONTRL per interchange (UCI 7, or 4 when the envelope is at fault), with a
    UCM per message; interchanges of CONTRL messages only are not acknowledged.
  * A replayed interchange control number: TA1 note 025 / CONTRL UCI 4 with 0085 = 26.
Matching: an inbound 997/999 names GS06 + ST02s, a CONTRL names UNB 0020 + UNH 0062s, a
TA1 names ISA13; the matching ``edi_outbound`` rows become accepted or rejected.

Usage:
    answer_interchange(s, partner_id, edi, ic, inbox_id=7)
    match_ack(s, partner_id, ack)
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.formats.ack_reader import FunctionalAck
from connectors.formats.acks import functional_ack, interchange_ack
from connectors.formats.contrl import contrl
from connectors.formats.model import Interchange
from hub.edi.control import next_control_number
from hub.edi.decode import ACK_SETS, interchange_rejected
from hub.edi.outbound import queue_ack
from hub.edi.profile import EdiProfile, functional_ack_kind
from hub.storage.edi_tables import EdiOutbound
from hub.storage.tables import utcnow

__all__ = ["answer_interchange", "match_ack", "refuse_replay"]


def _numbers(s: Session, partner_id: str) -> Any:
    return lambda kind: next_control_number(s, partner_id, kind)


def answer_interchange(s: Session, partner_id: str, edi: EdiProfile | None, ic: Interchange, *,
                       inbox_id: int | None) -> list[EdiOutbound]:
    """Queue the acknowledgments ``ic`` is owed (see the module docstring)."""
    numbers = _numbers(s, partner_id)
    out: list[EdiOutbound] = []
    strict = bool(edi and edi.strict)
    kind = functional_ack_kind(edi, None) if edi else ("CONTRL" if ic.standard == "edifact" else "997")
    if not ic.groups and ic.service_segments:
        return out  # an interchange of TA1s only is never acknowledged (that would loop)
    if ic.standard == "x12":
        broken = interchange_rejected(ic)
        ta1 = (edi.ta1 if edi else "asked")
        if broken or (ta1 == "always") or (ta1 == "asked" and ic.ack_requested):
            out.append(queue_ack(s, partner_id, interchange_ack(ic, next_control_number=numbers),
                                 answers_inbox_id=inbox_id))
        if broken or kind == "none":
            return out
        for group in ic.groups:
            if not group.transactions or all(t.set_id in ACK_SETS for t in group.transactions):
                continue
            which: Literal["997", "999"] = "999" if kind == "999" else "997"
            ack = functional_ack(ic, group, next_control_number=numbers, kind=which, strict=strict)
            out.append(queue_ack(s, partner_id, ack, answers_inbox_id=inbox_id))
        return out
    txs = ic.transactions()
    if kind == "none" or (txs and all(t.set_id in ACK_SETS for t in txs)):
        return out
    out.append(queue_ack(s, partner_id, contrl(ic, next_control_number=numbers, strict=strict),
                         answers_inbox_id=inbox_id))
    return out


def refuse_replay(s: Session, partner_id: str, ic: Interchange, *, inbox_id: int | None) -> EdiOutbound:
    """TA1 025 / CONTRL 0085=26 for an interchange control number already used."""
    numbers = _numbers(s, partner_id)
    if ic.standard == "x12":
        ack = interchange_ack(ic, next_control_number=numbers, note_code="025")
    else:
        ack = contrl(ic, next_control_number=numbers, error_code="26")
    return queue_ack(s, partner_id, ack, answers_inbox_id=inbox_id)


def match_ack(s: Session, partner_id: str, ack: FunctionalAck) -> list[dict[str, Any]]:
    """Mark what ``ack`` answers accepted or rejected; returns what was (or was not) matched."""
    base = select(EdiOutbound).where(EdiOutbound.partner_id == partner_id,
                                     EdiOutbound.ack_status != "not_expected")
    if ack.kind in ("997", "999"):
        rows = list(s.scalars(base.where(EdiOutbound.group_control == ack.group_control_number)))
        verdicts = {a.control_number: a for a in ack.sets}
    else:
        rows = list(s.scalars(base.where(EdiOutbound.interchange_control
                                         == (ack.interchange_control_number or "").lstrip("0").zfill(
                                             9 if ack.kind == "TA1" else 1))))
        if not rows and ack.interchange_control_number:
            rows = list(s.scalars(base.where(EdiOutbound.interchange_control == ack.interchange_control_number)))
        verdicts = {a.control_number: a for a in ack.sets}
    matched: list[dict[str, Any]] = []
    for row in rows:
        verdict = verdicts.get(row.control_number or "")
        if ack.kind == "TA1":
            if ack.accepted:
                continue  # a TA1 A says the envelope arrived; the 997 still decides the sets
            accepted, codes, found = False, list(ack.codes), []
        elif verdict is not None:
            accepted, codes, found = verdict.accepted, list(verdict.codes), list(verdict.findings)
        elif ack.sets and ack.kind != "CONTRL":
            continue  # a 997 naming other sets of the same group
        else:
            accepted, codes, found = ack.accepted, list(ack.codes), []
        row.ack_status = "accepted" if accepted else "rejected"
        row.acknowledged_at = utcnow()
        row.ack_detail = [{"kind": ack.kind, "status": verdict.status if verdict else ack.status,
                           "codes": codes, "findings": [f.path + ": " + f.message for f in found]}]
        matched.append({"outbound_id": row.id, "set_id": row.set_id, "control_number": row.control_number,
                        "status": row.ack_status})
    return matched
