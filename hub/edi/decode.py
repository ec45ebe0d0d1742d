"""The ingest stage for X12 / EDIFACT payloads: interchanges → checked sets → canonical documents.

One bad transaction never loses the others: every set is judged on its own. A set with a
rejecting syntax finding (or one its map cannot read) is *rejected*: it is named in the
997/CONTRL with its segment-level findings and parked as a dead letter, while the good sets
of the same interchange become documents. An interchange whose control number this
partner already used is a *replay*: nothing in it is read; the hub refuses it (TA1 025 /
CONTRL 0085=26). Acknowledgments the partner sends (997/999/TA1/CONTRL) are read, not mapped.

Usage:
    if sniff(message.raw):
        message = decode_edi(message, ctx)      # message.data is an EdiBatch
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, select

from canonical.documents import CanonicalDocument
from canonical.errors import CrossdockError, Finding, ParseError
from connectors.formats import read_any
from connectors.formats.ack_reader import FunctionalAck, read_functional_ack
from connectors.formats.acks import is_rejecting
from connectors.formats.model import Group, Interchange, Transaction
from connectors.formats.validator import validate_interchange
from hub.edi.profile import EdiProfile, edi_profile
from hub.storage.edi_tables import EdiSeen
from mappings.engine import map_transaction
from pipelines.runner import Message, StageContext

__all__ = ["ACK_SETS", "EdiBatch", "SetResult", "decode_edi", "interchange_rejected"]

ACK_SETS = frozenset(("997", "999", "CONTRL"))


@dataclass(slots=True)
class SetResult:
    """The verdict on one received transaction set / message."""

    interchange: int  # index into EdiBatch.interchanges
    group: Group | None
    transaction: Transaction
    status: Literal["accepted", "rejected", "ack"]
    document: CanonicalDocument | None = None
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)


@dataclass(slots=True)
class EdiBatch:
    """Everything the decode stage learnt about one payload, for the hub to record."""

    interchanges: list[Interchange]
    replays: set[int] = field(default_factory=set)  # indices of refused interchanges
    sets: list[SetResult] = field(default_factory=list)
    acks: list[tuple[int, FunctionalAck]] = field(default_factory=list)

    def rejected(self) -> list[SetResult]:
        return [r for r in self.sets if r.status == "rejected"]


def interchange_rejected(ic: Interchange) -> bool:
    """Whether the envelope itself is at fault (TA1 R / CONTRL UCI 4): nothing inside is read."""
    return any(f.code.startswith(("x12.ta1.", "edifact.0085.")) and f.code not in _NOTE_ONLY
               for f in ic.findings)


_NOTE_ONLY = frozenset(("x12.ta1.000",))


def decode_edi(message: Message, ctx: StageContext | None) -> Message:
    """Read, check and map every interchange in ``message.raw`` (see the module docstring)."""
    partner_id = message.partner_id
    edi = edi_profile(message.partner)
    interchanges = list(read_any(message.raw, partner=partner_id))
    batch = EdiBatch(interchanges)
    for index, ic in enumerate(interchanges):
        validate_interchange(ic, partner=partner_id)
        if ctx is not None and _replayed(ctx, partner_id, ic, message.receipt_id):
            batch.replays.add(index)
            continue
        for seg in ic.service_segments:
            if seg.tag == "TA1":
                batch.acks.append((index, read_functional_ack(seg)))
        broken = interchange_rejected(ic)
        for group in ic.groups:
            for tx in group.transactions:
                batch.sets.append(_judge(index, ic, group, tx, edi, partner_id, broken, batch))
    message.data = batch
    message.documents = [r.document for r in batch.sets if r.document is not None]
    return message


def _judge(index: int, ic: Interchange, group: Group, tx: Transaction, edi: EdiProfile | None,
           partner_id: str, broken: bool, batch: EdiBatch) -> SetResult:
    strict = bool(edi and edi.strict)
    if tx.set_id in ACK_SETS:
        try:
            batch.acks.append((index, read_functional_ack(tx)))
        except ParseError as exc:
            return SetResult(index, group, tx, "rejected", error=str(exc), findings=list(tx.findings))
        return SetResult(index, group, tx, "ack")
    if broken or group.findings:
        return SetResult(index, group, tx, "rejected", error="the envelope around this set is rejected",
                         findings=[*ic.findings, *group.findings, *tx.findings])
    if any(is_rejecting(f, strict=strict) for f in tx.findings):
        return SetResult(index, group, tx, "rejected", error=_describe(tx, tx.findings),
                         findings=list(tx.findings))
    overrides = (edi.map_overrides.get(tx.set_id) if edi else None) or None
    try:
        doc = map_transaction(ic, group, tx, overrides=overrides, partner=partner_id)
    except CrossdockError as exc:
        found = list(exc.findings) if exc.findings else []
        # The acknowledgment must say the set was not taken: one or more segments in error.
        tx.findings.append(Finding(path=f"{tx.set_id} {tx.control_number}", message=str(exc),
                                   code="x12.ak5.5" if ic.standard == "x12" else "edifact.0085.13"))
        return SetResult(index, group, tx, "rejected", error=str(exc), findings=found)
    return SetResult(index, group, tx, "accepted", document=doc, findings=list(tx.findings))


def _describe(tx: Transaction, findings: list[Finding]) -> str:
    first = findings[0]
    return f"{tx.set_id} {tx.control_number} rejected: {first.path}: {first.message}"


def _replayed(ctx: StageContext, partner_id: str, ic: Interchange, receipt_id: int) -> bool:
    db: Any = getattr(ctx, "db", None)
    if db is None:
        return False
    with db.read_connection() as conn:
        first = conn.scalar(_SEEN_BY, {"partner": partner_id, "sender": ic.sender_id.strip(),
                                       "control": ic.control_number.strip()})
    return first is not None and first != receipt_id


_SEEN = cast(Table, EdiSeen.__table__)
_SEEN_BY = select(_SEEN.c.inbox_id).where(_SEEN.c.partner_id == bindparam("partner"),
                                          _SEEN.c.sender_id == bindparam("sender"),
                                          _SEEN.c.control_number == bindparam("control"))
