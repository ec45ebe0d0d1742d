"""Interchanges Crossdock sends: business documents and acknowledgments, stored before sending.

Every outbound interchange is a row in ``edi_outbound`` (raw bytes, ISA13/GS06/ST02 or
UNB/UNH references, transport status, the partner's verdict), written in the caller's
transaction with control numbers from ``hub.edi.control``; ``hub.edi.sender`` delivers
queued rows in order.

Usage:
    with db.session() as s:
        row = queue_document(s, partner, purchase_order)      # an 850 or ORDERS
        queue_ack(s, partner_id, ack_interchange, answers_inbox_id=7)
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from canonical.documents import CanonicalDocument, OrderAcknowledgment, ShipNotice
from canonical.errors import ConfigurationError
from connectors.formats import edifact, x12
from connectors.formats.model import Delimiters, Group, Interchange
from hub.edi.control import next_control_number
from hub.edi.profile import EdiProfile, edi_profile
from hub.storage.edi_tables import EdiOutbound
from hub.storage.tables import Document, utcnow
from mappings.engine import load_map

__all__ = ["SET_FOR", "queue_ack", "queue_document", "queue_resend", "set_for", "write_interchange"]

SET_FOR = {
    "x12": {"purchase_order": "850", "order_acknowledgment": "855", "ship_notice": "856",
            "invoice": "810"},
    "edifact": {"purchase_order": "ORDERS", "order_acknowledgment": "ORDRSP",
                "ship_notice": "DESADV", "invoice": "INVOIC"},
}
_FUNCTIONAL_ID = {"850": "PO", "860": "PC", "855": "PR", "865": "CA", "856": "SH", "810": "IN", "997": "FA",
                  "999": "FA"}


def set_for(standard: str, document_type: str, *, partner: str | None = None) -> str:
    """The transaction set that carries ``document_type`` in ``standard``."""
    try:
        return SET_FOR[standard][document_type]
    except KeyError:
        raise ConfigurationError(f"Crossdock does not send {document_type} as {standard}",
                                 code="config.unknown_map", partner=partner) from None


def _set_for(edi: EdiProfile, doc: CanonicalDocument, partner_id: str) -> str:
    # An answer to a change (a revision of the order) is an 865 where an X12 partner asked for
    # them. EDIFACT has no message of its own for it: an ORDRSP answers the ORDCHG, and its map
    # says so from the revision (BGM 1225 4, RFF+CR naming the change).
    if isinstance(doc, OrderAcknowledgment) and doc.revision > 0 and "865" in edi.auto_respond \
            and edi.standard == "x12":
        return "865"
    return set_for(edi.standard, doc.document_type, partner=partner_id)


def write_interchange(ic: Interchange) -> bytes:
    return x12.write(ic) if ic.standard == "x12" else edifact.write(ic)


def _edi(partner: dict[str, Any]) -> EdiProfile:
    edi = edi_profile(partner)
    if edi is None:
        raise ConfigurationError(f"partner {partner.get('id')!r} has no EDI profile (edi: ...)",
                                 code="partner.no_edi", partner=partner.get("id"))
    return edi


def queue_document(session: Session, partner: dict[str, Any], doc: CanonicalDocument, *,
                   now: dt.datetime | None = None) -> EdiOutbound:
    """Render ``doc`` in the partner's standard, wrap it in a new interchange and queue it."""
    partner_id = str(partner["id"])
    edi = _edi(partner)
    set_id = _set_for(edi, doc, partner_id)
    key = doc.idempotency_key
    held = session.scalar(select(EdiOutbound).join(Document, Document.id == EdiOutbound.document_id)
                          .where(Document.idempotency_key == key))
    if held is not None:
        return held  # the same document (type, sender, number, revision) is sent once
    now = now or utcnow()
    ic, isa, gs, tx = _interchange(session, partner_id, edi, set_id, doc, now)
    po_number = getattr(doc, "po_number", None)
    if po_number is None and isinstance(doc, ShipNotice):
        po_number = doc.orders[0].po_number
    stored = Document(partner_id=partner_id, document_type=doc.document_type, idempotency_key=key,
                      business_key=doc.business_key, revision=str(doc.revision_of), direction="outbound",
                      status="queued", canonical=doc.model_dump(mode="json"))
    session.add(stored)
    session.flush()
    row = EdiOutbound(document_id=stored.id,
        partner_id=partner_id, standard=edi.standard, set_id=set_id, document_type=doc.document_type,
        po_number=po_number, interchange_control=isa, group_control=gs, control_number=tx.control_number,
        canonical=doc.model_dump(mode="json"), raw=write_interchange(ic), status="queued",
        ack_status="pending" if edi.expects_ack else "not_expected", ack_detail=[],
        attempts=0, next_attempt_at=now)
    session.add(row)
    session.flush()
    return row


def _interchange(session: Session, partner_id: str, edi: EdiProfile, set_id: str, doc: CanonicalDocument,
                 now: dt.datetime) -> tuple[Interchange, str, str | None, Any]:
    """``doc`` rendered and wrapped in a new interchange with the partner pair's next control numbers."""
    overrides = edi.map_overrides.get(set_id) or None
    m = load_map(edi.standard, set_id, "outbound", version=edi.version, overrides=overrides,
                 partner=partner_id)
    x = edi.standard == "x12"
    st = next_control_number(session, partner_id, "st" if x else "unh")
    tx = m.build_transaction(doc, control_number=str(st).zfill(4) if x else str(st), partner=partner_id)
    if x:
        gs = str(next_control_number(session, partner_id, "gs"))
        isa = str(next_control_number(session, partner_id, "isa")).zfill(9)
        five = edi.version.startswith("005")
        group = Group(_FUNCTIONAL_ID.get(set_id, "PO"), edi.our_interchange_id, edi.interchange_id, gs,
                      edi.version, now.strftime("%Y%m%d"), now.strftime("%H%M"), [tx])
        ic = Interchange("x12", edi.our_interchange_qualifier, edi.our_interchange_id,
                         edi.interchange_qualifier, edi.interchange_id, isa, now.strftime("%y%m%d"),
                         now.strftime("%H%M"), "00501" if five else "00401",
                         Delimiters("*", ">", "~", "^" if five else None), test=edi.test,
                         groups=[group])
    else:
        gs = None
        isa = str(next_control_number(session, partner_id, "unb"))
        group = Group(None, edi.our_interchange_id, edi.interchange_id, None, tx.version,
                      now.strftime("%y%m%d"), now.strftime("%H%M"), [tx])
        ic = Interchange("edifact", edi.our_interchange_qualifier, edi.our_interchange_id,
                         edi.interchange_qualifier, edi.interchange_id, isa, now.strftime("%y%m%d"),
                         now.strftime("%H%M"), "UNOC:3", Delimiters("+", ":", "'", None, "?"),
                         test=edi.test, groups=[group])
    return ic, isa, gs, tx


def queue_resend(session: Session, partner: dict[str, Any], stored: Document, doc: CanonicalDocument, *,
                 now: dt.datetime | None = None) -> EdiOutbound:
    """Send a document Crossdock sent before once more, in a new interchange (new control
    numbers, so the partner does not refuse it as a replay); it stays one hub document."""
    partner_id = str(partner["id"])
    edi = _edi(partner)
    set_id = _set_for(edi, doc, partner_id)
    now = now or utcnow()
    ic, isa, gs, tx = _interchange(session, partner_id, edi, set_id, doc, now)
    row = EdiOutbound(document_id=stored.id,
        partner_id=partner_id, standard=edi.standard, set_id=set_id, document_type=doc.document_type,
        po_number=getattr(doc, "po_number", None), interchange_control=isa, group_control=gs,
        control_number=tx.control_number, canonical=doc.model_dump(mode="json"), raw=write_interchange(ic),
        status="queued", ack_status="pending" if edi.expects_ack else "not_expected", ack_detail=[],
        attempts=0, next_attempt_at=now)
    session.add(row)
    session.flush()
    return row


def queue_ack(session: Session, partner_id: str, ack: Interchange, *,
              answers_inbox_id: int | None) -> EdiOutbound:
    """Queue an acknowledgment interchange built by ``connectors.formats`` (997/999/TA1/CONTRL)."""
    tx = next(iter(ack.transactions()), None)
    set_id = tx.set_id if tx is not None else "TA1"
    group = ack.groups[0] if ack.groups else None
    now = utcnow()
    values: dict[str, Any] = dict(
        partner_id=partner_id, standard=ack.standard, set_id=set_id, document_type=None,
        po_number=None, interchange_control=ack.control_number,
        group_control=group.control_number if group else None,
        control_number=tx.control_number if tx else None, answers_inbox_id=answers_inbox_id,
        canonical=None, raw=write_interchange(ack), status="queued", ack_status="not_expected",
        ack_detail=[], attempts=0, next_attempt_at=now, created_at=now)
    # One prebuilt statement (a hub answers every interchange it reads): the row is returned
    # transient, with its id, for the caller to read.
    row = EdiOutbound(**values)
    row.id = int(session.scalar(_INSERT_ACK, values))
    return row


_OUTBOUND = cast(Table, EdiOutbound.__table__)
_INSERT_ACK = insert(_OUTBOUND).returning(_OUTBOUND.c.id)
