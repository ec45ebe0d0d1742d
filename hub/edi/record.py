"""Record an EDI payload's outcome in the job's own transaction (called by the processor).

For each interchange: remember its control number (a second use is a replay: refused with
TA1 025 / CONTRL 26, archived, nothing processed), queue the acknowledgments it is owed,
and file each set: accepted (linked to its document and, for a supplier's reply, to the PO
Crossdock sent), rejected (one dead letter per payload naming every rejected set with its
segment-level findings) or an acknowledgment (matched to what Crossdock sent). Business
differences become notes and cases; a customer's new order is answered when the profile
says so (``auto_respond``, confirmed up to the stock ``refdata`` knows), and so is its change
to an order not yet shipped (``865``: an 865 to an 860, an ORDRSP to an ORDCHG). Runs once
per payload: a retried job finds its rows and stops.

Usage:
    record_edi(session, job_id=3, inbox_id=7, outcome=outcome, dead_lettered=False, refdata=refdata)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, and_, bindparam, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from canonical.documents import CanonicalDocument, PurchaseOrder, ShipNotice
from canonical.errors import Finding
from canonical.registry import model_for
from hub.edi.acks import answer_interchange, match_ack, refuse_replay
from hub.edi.business import reply_differences
from hub.edi.decode import EdiBatch, SetResult
from hub.edi.outbound import queue_document
from hub.edi.profile import EdiProfile, edi_profile
from hub.edi.responses import answers_for, confirm
from hub.edi.stock import StockCheck
from hub.storage.edi_tables import EdiOutbound, EdiReceived, EdiSeen
from hub.storage.tables import Case, DeadLetter, Document, utcnow
from pipelines.runner import Outcome

if TYPE_CHECKING:
    from pipelines.refdata import ReferenceData

__all__ = ["record_edi"]

_REPLIES = ("order_acknowledgment", "ship_notice", "invoice")


def record_edi(s: Session, *, job_id: int, inbox_id: int | None, outcome: Outcome, dead_lettered: bool,
               refdata: ReferenceData | None = None, inbox_values: dict[str, Any] | None = None) -> None:
    """See the module docstring. ``inbox_values``: the receipt's new status and outcome, not written
    yet; this adds the EDI summary to them and the caller writes them."""
    message = outcome.message
    batch = message.data
    if not isinstance(batch, EdiBatch):
        return
    if inbox_id is not None and s.scalar(_RECORDED, {"inbox": inbox_id}):
        return
    partner = message.partner or {}
    partner_id = message.partner_id
    edi = edi_profile(partner)
    summary: dict[str, Any] = {"interchanges": [], "replays": [], "acks_sent": [], "matched": [], "cases": []}
    for index, ic in enumerate(batch.interchanges):
        control = ic.control_number.strip()
        replay = index in batch.replays or not _first_time(s, partner_id, ic.sender_id.strip(), control, inbox_id)
        if replay:
            batch.replays.add(index)
            s.execute(_INSERT_RECEIVED, _received(
                inbox_id=inbox_id, partner_id=partner_id, standard=ic.standard, interchange_control=control,
                status="duplicate", notes=[{"rule": "replayed-interchange",
                                            "message": f"interchange control number {control} was used before"}]))
            refusal = refuse_replay(s, partner_id, ic, inbox_id=inbox_id)
            summary["replays"].append(control)
            summary["acks_sent"].append(refusal.set_id)
            continue
        summary["interchanges"].append(control)
        summary["acks_sent"] += [r.set_id for r in answer_interchange(s, partner_id, edi, ic, inbox_id=inbox_id)]
    for index, ack in batch.acks:
        if index not in batch.replays:
            summary["matched"] += match_ack(s, partner_id, ack)
    rejected: list[tuple[SetResult, _Filed]] = []
    for result in batch.sets:
        if result.interchange in batch.replays:
            continue
        row = _file_set(s, result, batch, partner_id, inbox_id, message.existing_ids, message.stored_ids,
                        message.canonical_json)
        if result.status == "rejected":
            rejected.append((result, row))
        elif result.document is not None and not dead_lettered:
            row.notes = _business(s, result.document, row, partner, edi, message.existing_ids, refdata)
            if row.notes or row.outbound_id is not None:
                s.execute(_UPDATE_RECEIVED, {"b_id": row.id, "notes": row.notes, "outbound_id": row.outbound_id})
            for note in row.notes:
                summary["cases"].append(_open_case(s, note, partner_id, inbox_id, job_id, row.document_id))
    if rejected and not dead_lettered:
        _dead_letter(s, rejected, partner_id, inbox_id, job_id)
    _update_inbox(inbox_id, batch, summary, outcome.ok, inbox_values)


def _first_time(s: Session, partner_id: str, sender: str, control: str, inbox_id: int | None) -> bool:
    """Remember the control number; False when the partner used it before (a replay)."""
    taken = s.execute(  # type: ignore[attr-defined]  # DML results carry rowcount
        _INSERT_SEEN[s.get_bind().dialect.name == "postgresql"],
        {"partner_id": partner_id, "sender_id": sender, "control_number": control, "inbox_id": inbox_id,
         "created_at": utcnow()}).rowcount
    return bool(taken)


def _po_number(doc: CanonicalDocument | None) -> str | None:
    if isinstance(doc, ShipNotice):
        return doc.orders[0].po_number
    value = getattr(doc, "po_number", None)
    return str(value) if value else None


@dataclass(slots=True)
class _Filed:
    """An ``edi_received`` row just written (what the business checks read and amend)."""

    id: int
    inbox_id: int | None
    interchange_control: str
    po_number: str | None
    document_id: int | None
    findings: list[dict[str, Any]]
    notes: list[dict[str, Any]] = field(default_factory=list)
    outbound_id: int | None = None


def _received(**values: Any) -> dict[str, Any]:
    """Every column of an ``edi_received`` insert (one statement shape: compiled once)."""
    row = dict.fromkeys(_RECEIVED_COLUMNS)
    row.update(findings=[], notes=[], created_at=utcnow())
    row.update(values)
    return row


def _file_set(s: Session, r: SetResult, batch: EdiBatch, partner_id: str, inbox_id: int | None,
              existing: dict[str, int], stored: dict[str, int], canonical: Any) -> _Filed:
    ic = batch.interchanges[r.interchange]
    doc = r.document
    doc_id = None
    if doc is not None:
        key = doc.idempotency_key
        doc_id = existing.get(key) or stored.get(key) or s.scalar(_FIND_DOCUMENT, {"key": key})
    control, po_number, findings = ic.control_number.strip(), _po_number(doc), [_finding(f) for f in r.findings]
    row_id = s.scalar(_INSERT_RECEIVED_ID, _received(
        inbox_id=inbox_id, partner_id=partner_id, standard=ic.standard, interchange_control=control,
        group_control=r.group.control_number if r.group else None, set_id=r.transaction.set_id,
        control_number=r.transaction.control_number, status=r.status, document_id=doc_id,
        document_type=doc.document_type if doc else None, po_number=po_number,
        canonical=canonical(doc) if doc is not None else None, findings=findings))
    return _Filed(int(row_id), inbox_id, control, po_number, doc_id, findings)


def _finding(f: Finding) -> dict[str, Any]:
    return {"path": f.path, "message": f.message, "code": f.code, "segment_id": f.segment_id,
            "segment_position": f.segment_position, "element_position": f.element_position,
            "component_position": f.component_position, "value": f.value}


def _business(s: Session, doc: CanonicalDocument, row: _Filed, partner: dict[str, Any],
              edi: EdiProfile | None, existing: dict[str, int], refdata: ReferenceData | None,
              ) -> list[dict[str, Any]]:
    partner_id = str(partner.get("id"))
    if doc.document_type in _REPLIES and row.po_number:
        po_row = s.scalar(select(EdiOutbound).where(
            EdiOutbound.partner_id == partner_id, EdiOutbound.po_number == row.po_number,
            EdiOutbound.document_type == "purchase_order").order_by(EdiOutbound.id.desc()).limit(1))
        if po_row is None or po_row.canonical is None:
            return []
        row.outbound_id = po_row.id
        earlier = [model_for(str(r.document_type)).model_validate(r.canonical) for r in s.scalars(
            select(EdiReceived).where(
                EdiReceived.partner_id == partner_id, EdiReceived.po_number == row.po_number,
                EdiReceived.status == "accepted", EdiReceived.id != row.id, EdiReceived.canonical.is_not(None),
                # earlier means received earlier: workers may record replies in another order
                EdiReceived.id < row.id if row.inbox_id is None else or_(
                    EdiReceived.inbox_id < row.inbox_id,
                    and_(EdiReceived.inbox_id == row.inbox_id, EdiReceived.id < row.id)))
            .order_by(EdiReceived.id))]
        po = PurchaseOrder.model_validate(po_row.canonical)
        return reply_differences(po, doc, earlier)
    if not isinstance(doc, PurchaseOrder):
        return []
    if doc.idempotency_key in existing:
        return [{"rule": "duplicate-order", "line": None, "message": f"order {doc.po_number} (revision "
                 f"{doc.revision}) arrived again in interchange {row.interchange_control}; not processed twice"}]
    confirmed = s.scalar(_SENT, {"partner": partner_id, "po": doc.po_number, "type": "order_acknowledgment"})
    stock = StockCheck(s, refdata, doc) if refdata is not None else None
    available = stock.take if stock is not None else None
    if doc.purpose.value != "new":
        shipped = s.scalar(_SENT, {"partner": partner_id, "po": doc.po_number, "type": "ship_notice"})
        if edi is not None and "865" in edi.auto_respond and doc.purpose.value == "change" and shipped is None:
            # Answered line by line from stock, as the order was (an 865, or an ORDRSP to an
            # ORDCHG: queue_document picks the set); nothing for a person to decide.
            queue_document(s, partner, confirm(doc, on=utcnow().date(), seller_id=edi.our_interchange_id,
                                               available=available, shortfall=edi.stock_shortfall))
            return []
        if confirmed is not None:
            return [{"rule": "change-after-confirm", "line": None, "message": f"order {doc.po_number} was "
                     f"changed ({doc.purpose.value}, revision {doc.revision}) after Crossdock confirmed it"
                     + (" and shipped it" if shipped is not None else "")}]
        return []
    if edi is not None and edi.auto_respond and confirmed is None:
        for answer in answers_for(doc, list(edi.auto_respond), on=utcnow().date(), seller_id=edi.our_interchange_id,
                                  available=available, shortfall=edi.stock_shortfall):
            queue_document(s, partner, answer)
    return []



def _open_case(s: Session, note: dict[str, Any], partner_id: str, inbox_id: int | None, job_id: int,
               document_id: int | None) -> int:
    case = Case(type=f"edi.{note['rule']}", severity="medium", partner_id=partner_id, inbox_id=inbox_id,
                document_id=document_id, job_id=job_id, summary=note["message"], details={"note": note})
    s.add(case)
    s.flush()
    return case.id


def _dead_letter(s: Session, rejected: list[tuple[SetResult, _Filed]], partner_id: str,
                 inbox_id: int | None, job_id: int) -> None:
    if s.scalar(select(DeadLetter.id).where(DeadLetter.job_id == job_id)) is not None:
        return
    sets = [{"set_id": r.transaction.set_id, "control_number": r.transaction.control_number, "error": r.error,
             "findings": row.findings} for r, row in rejected]
    first = rejected[0][0]
    where = next((f for f in first.findings if f.segment_id), first.findings[0] if first.findings else None)
    text = first.error or "rejected"
    if where is not None and where.segment_id:
        element = f", element {where.element_position:02d}" if where.element_position else ""
        text = f"{text} ({where.segment_id} at segment {where.segment_position}{element}: {where.message})"
    if len(rejected) > 1:
        text += f"; {len(rejected) - 1} more set(s) rejected"
    dl = DeadLetter(job_id=job_id, inbox_id=inbox_id, partner_id=partner_id, document_type=None, stage="decode",
                    error_code="edi.set_rejected", error=text[:4000],
                    details={"reason": "rejected in our acknowledgment", "sets": sets,
                             "findings": [f for _, row in rejected for f in row.findings]})
    s.add(dl)
    s.flush()
    s.execute(update(_RECEIVED).where(_RECEIVED.c.id.in_([row.id for _, row in rejected]))
              .values(dead_letter_id=dl.id))


def _update_inbox(inbox_id: int | None, batch: EdiBatch, summary: dict[str, Any], ok: bool,
                  pending: dict[str, Any] | None) -> None:
    """The EDI summary into the receipt's outcome, and its status where the sets decide it, into
    ``pending``: the receipt's new state, which the caller writes after this."""
    if inbox_id is None or pending is None:
        return
    pending["outcome"] = {**(pending["outcome"] or {}), "edi": summary}
    if ok:
        accepted = [r for r in batch.sets if r.status in ("accepted", "ack") and r.interchange not in batch.replays]
        if batch.replays and len(batch.replays) == len(batch.interchanges):
            pending["status"] = "duplicate"
        elif batch.rejected() and not accepted:
            pending["status"] = "failed"
        elif accepted and pending["status"] == "duplicate" and not any(r.document for r in accepted):
            pending["status"] = "processed"


# Built once: these run for every interchange, and building a statement costs more than running it.
_RECEIVED = cast(Table, EdiReceived.__table__)
_RECEIVED_COLUMNS = tuple(c.name for c in _RECEIVED.c if c.name != "id")
_SEEN = cast(Table, EdiSeen.__table__)
_OUTBOUND = cast(Table, EdiOutbound.__table__)
_DOCUMENTS = cast(Table, Document.__table__)
_RECORDED = select(_RECEIVED.c.id).where(_RECEIVED.c.inbox_id == bindparam("inbox")).limit(1)
# INSERT … ON CONFLICT DO NOTHING: no row when the partner used the number before; [sqlite, postgresql]
_INSERT_SEEN = tuple(dialect(_SEEN).on_conflict_do_nothing() for dialect in (sqlite_insert, postgresql_insert))
_INSERT_RECEIVED = insert(_RECEIVED)
_INSERT_RECEIVED_ID = insert(_RECEIVED).returning(_RECEIVED.c.id)
_UPDATE_RECEIVED = update(_RECEIVED).where(_RECEIVED.c.id == bindparam("b_id"))
_FIND_DOCUMENT = select(_DOCUMENTS.c.id).where(_DOCUMENTS.c.idempotency_key == bindparam("key"))
_SENT = (select(_OUTBOUND.c.id).where(_OUTBOUND.c.partner_id == bindparam("partner"),
                                      _OUTBOUND.c.po_number == bindparam("po"),
                                      _OUTBOUND.c.document_type == bindparam("type")).limit(1))
