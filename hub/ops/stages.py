"""Ingest stages of the operations features (the hub inserts them into ``INGEST_STAGES``).

    resolve_partner → map_records → decode → map → validate → check_refdata
        → check_revisions → check_resend → dedupe → detect

* ``map_records``: record maps (web shop JSON, field-sales CSV) and edited canonical JSON.
* ``check_refdata``: rules against imported reference data (skipped until some is imported);
  data errors are dead letters, master-data gaps and business findings become detections.
* ``check_revisions``: a change or cancel (revision n) waits until revision n-1 is held.
* ``check_resend``: a known order key with other content is a duplicate-order case, unless
  the partner acknowledges resends.
* ``detect``: every detector over the new documents; the partner's policies decide which
  detections are auto-resolved (the document goes on) and which stop it in a case.

Usage:
    stages = [("resolve_partner", resolve_partner), ("map_records", map_records), ...]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, select

from canonical.documents import CanonicalDocument, OrderPurpose, PurchaseOrder, make_idempotency_key
from canonical.errors import BusinessException, CrossdockError
from canonical.registry import model_for
from hub.ops.history import DbHistory
from hub.ops.refdata import DbReferenceData
from hub.ops.rules import partner_policies, partner_rules
from hub.storage.db import Database
from hub.storage.tables import Document
from mappings.records import load_record_map
from pipelines.exceptions import (
    Detection,
    DetectionContext,
    PartnerRules,
    PolicyAction,
    PolicyDecision,
    PolicyRule,
    decide,
    detect_all,
)
from pipelines.exceptions.detectors import order_fingerprint
from pipelines.exceptions.model import describe, detection
from pipelines.exceptions.validation import validate_document
from pipelines.runner import Message, StageContext

__all__ = [
    "CasesFound",
    "Found",
    "WaitingForOriginal",
    "check_refdata",
    "check_resend",
    "check_revisions",
    "detect",
    "map_records",
]


class _HubCtx(Protocol):
    db: Database
    refdata: DbReferenceData


def _hub(ctx: StageContext) -> _HubCtx:
    if not hasattr(ctx, "db") or not hasattr(ctx, "refdata"):
        raise TypeError("these stages need the hub's context (database and reference data)")
    return ctx  # type: ignore[return-value]  # checked just above


@dataclass(frozen=True, slots=True)
class Found:
    detection: Detection
    decision: PolicyDecision
    business_key: str | None = None
    order_value: str | None = None


class CasesFound(BusinessException):
    """One or more detections that need people: the runner classifies it as a case."""

    def __init__(self, found: list[Found], *, partner: str | None) -> None:
        first = found[0].detection
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        super().__init__(first.message + more, code=first.code, severity=first.severity.value,
                         partner=partner, document=first.document)
        self.found = found


class WaitingForOriginal(CrossdockError):
    """A change or cancel arrived before the revision it follows: the job waits for it."""

    code = "revision.waiting_for_original"

    def __init__(self, message: str, *, business_key: str, revision: int, document: str, partner: str) -> None:
        super().__init__(message, partner=partner, document=document,
                         details={"business_key": business_key, "revision": revision})
        self.business_key = business_key
        self.revision = revision


def map_records(message: Message, ctx: StageContext) -> Message:
    """Record-mapped payloads and edited canonical JSON become documents here; others pass on."""
    doc_type = message.document_type
    if message.meta.get("format") == "canonical" and doc_type:
        data = json.loads(message.raw)
        items = data if isinstance(data, list) else [data]
        message.documents = [model_for(doc_type).model_validate(d) for d in items]
        return message
    name = ((message.partner or {}).get("record_maps") or {}).get(doc_type or "")
    if name:
        message.documents = load_record_map(str(name)).to_canonical(message.raw, partner=message.partner_id)
    return message


def check_refdata(message: Message, ctx: StageContext) -> Message:
    hub = _hub(ctx)
    if hub.refdata.empty:
        return message
    found: list[Detection] = message.meta.setdefault("detections", [])
    for doc in message.documents:
        report = validate_document(doc, hub.refdata, today=ctx.now().date())
        report.raise_for_data_errors()
        gaps = {f.code for f in report.master_data_gaps}  # prices and credit: the detectors' evidence is richer
        found.extend(d for d in report.detections() if d.code in gaps)
    return message


def _order_key(po: PurchaseOrder, revision: int) -> str:
    return make_idempotency_key(po.document_type, po.buyer.id, po.po_number, revision)


def check_revisions(message: Message, ctx: StageContext) -> Message:
    for doc in message.documents:
        if not isinstance(doc, PurchaseOrder) or doc.revision == 0:
            continue
        if message.held_id(doc.idempotency_key, ctx.find_document) is not None:
            continue  # this revision is held already: dedupe decides
        if ctx.find_document(_order_key(doc, doc.revision - 1)) is None:
            raise WaitingForOriginal(
                f"{describe(doc)} ({doc.purpose.value}) waits for revision {doc.revision - 1}",
                business_key=doc.business_key, revision=doc.revision, document=describe(doc),
                partner=message.partner_id)
    return message


def _fingerprints(a: PurchaseOrder, b: PurchaseOrder) -> tuple[str, str]:
    if a.ship_to is None or b.ship_to is None:  # a channel that does not carry the ship-to
        a, b = a.model_copy(update={"ship_to": None}), b.model_copy(update={"ship_to": None})
    return order_fingerprint(a), order_fingerprint(b)


_HELD = select(Document.__table__.c.id, Document.__table__.c.canonical).where(
    Document.__table__.c.idempotency_key == bindparam("key"))


def check_resend(message: Message, ctx: StageContext) -> Message:
    hub = _hub(ctx)
    acknowledge = (message.partner or {}).get("resend") == "acknowledge" \
        or "duplicate_order" in (message.meta.get("accepted_exceptions") or [])  # a person accepted it as a resend
    for doc in message.documents:
        if not isinstance(doc, PurchaseOrder) or doc.purpose is OrderPurpose.CANCEL:
            continue
        key = doc.idempotency_key
        if key in message.held and message.held[key] is None:
            continue  # looked up already (check_revisions): not held
        with hub.db.read_connection() as conn:
            row = conn.execute(_HELD, {"key": key}).first()
        message.held[key] = row.id if row is not None else None  # dedupe asks next: answered
        if row is None:
            continue
        held = row.canonical
        mine, theirs = _fingerprints(doc, PurchaseOrder.model_validate(held))
        if mine == theirs or acknowledge:
            continue
        d = detection("duplicate_order", describe(doc), partner=doc.buyer.id,
                      message=f"PO {doc.po_number} from {doc.buyer.id} (revision {doc.revision}) is held "
                              "already with different content",
                      evidence={"rule": "same_key_different_content", "held_total": str(
                          PurchaseOrder.model_validate(held).total_amount()), "total": str(doc.total_amount())},
                      related=(describe(doc),), amount_at_risk=doc.total_amount(), currency=doc.currency)
        raise CasesFound([Found(d, PolicyDecision(PolicyAction.MANUAL, "a duplicate order is decided by people"),
                                doc.business_key, str(doc.total_amount()))], partner=message.partner_id)
    return message


def _value(doc: CanonicalDocument) -> str | None:
    total = getattr(doc, "total_amount", None) or getattr(doc, "computed_total", None)
    return str(total()) if callable(total) else None


_RULES_SEEN: dict[str, tuple[Mapping[str, Any], PartnerRules, tuple[PolicyRule, ...]]] = {}


def _rules_of(partner_id: str, profile: Mapping[str, Any]) -> tuple[PartnerRules, tuple[PolicyRule, ...]]:
    """The partner's rules and policies, read again only when its profile is a new object.

    The hub hands stages the same profile object until it reads the partner again (every few
    seconds, and at once after a change), so the parsing runs then and not per document.
    """
    seen = _RULES_SEEN.get(partner_id)
    if seen is not None and seen[0] is profile:
        return seen[1], seen[2]
    rules, policies = partner_rules(profile), partner_policies(profile)
    _RULES_SEEN[partner_id] = (profile, rules, policies)
    return rules, policies


def detect(message: Message, ctx: StageContext) -> Message:
    """Run the detectors; auto-resolvable detections ride along, the rest stop the document."""
    hub = _hub(ctx)
    profile = message.partner or {}
    rules, policies = _rules_of(message.partner_id, profile)
    accepted = set(message.meta.get("accepted_exceptions") or [])
    earlier: list[Detection] = message.meta.get("detections") or []
    found: list[Found] = []
    for doc in message.documents:
        if doc.idempotency_key in message.existing_ids:
            continue
        context = DetectionContext(hub.refdata, DbHistory(hub.db, exclude_key=doc.idempotency_key),
                                   rules, ctx.now().date())
        mine = [d for d in earlier if d.document == describe(doc)] + detect_all(doc, context)
        for d in mine:
            if d.code not in accepted:
                found.append(Found(d, decide(d, policies, message.partner_id), doc.business_key, _value(doc)))
    if any(f.decision.action is not PolicyAction.AUTO_RESOLVE for f in found):
        raise CasesFound(found, partner=message.partner_id)
    message.meta["auto_cases"] = found
    return message

