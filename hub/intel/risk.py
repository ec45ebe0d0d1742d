"""Predicted SLA risk in the hub: expectations from the document tables, training from their
outcomes, a prediction for every open one, and an ``sla_risk`` case before the deadline when
the risk is high.

An expectation is a document a partner owes Crossdock, with its SLA from the partner's rules:

* ``855`` and ``856`` for each purchase order to a supplier (sent by Crossdock, or handed in
  naming the supplier as seller), answered by the supplier's acknowledgment / ship notice;
* ``810`` for each supplier ship notice, answered by an invoice naming its shipment or order;
* ``997`` for each interchange Crossdock sent that expects a functional acknowledgment.

Its outcome is known once the answer arrived (``missed`` = arrived after the due time) or the
due time passed without one (``missed``). Training reads the last 180 days of closed
expectations; each example's ``recent_late_rate`` counts only outcomes known before it opened.

Predictions are recorded in ``intel_decisions`` (kind ``prediction``) with the features, the
model version (none when the rule estimate answered) and any warning, again only when the
probability moved by 0.05 or more, or the model changed; ``GET /api/v1/documents/{id}`` and the
case show the latest one. A trained model's risk at or above ``threshold`` opens one
``sla_risk`` case per expectation while it is still before its due time (the rule estimate,
used while no model is trained, only rises as the deadline nears, which the missing-document
checks cover).

Usage:
    risk = SlaRiskPass(db, registry, refdata)
    risk.train()     # scheduled every intel_retrain_hours; also `crossdock intel retrain`
    risk.run()       # scheduled every intel_interval_seconds
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import func, select

from hub.ops.cases import open_cases
from hub.ops.facts import CanonicalFacts
from hub.ops.rules import partner_policies, partner_rules
from hub.ops.stages import Found
from hub.ops.timers import expectation_documents, with_edi_sla
from hub.partners import partner_dict
from hub.storage.edi_tables import EdiOutbound
from hub.storage.intel_tables import IntelDecision
from hub.storage.tables import Document, Partner, utcnow
from pipelines.exceptions import decide
from pipelines.exceptions.model import detection
from pipelines.intelligence.risk import (
    Prediction,
    RiskExample,
    assess,
    should_raise_case,
    train_sla_risk,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hub.intel.models import ModelRegistry
    from hub.storage.db import Database
    from pipelines.refdata import ReferenceData

__all__ = ["DocumentFacts", "Expected", "LateRates", "SlaRiskPass", "example_of", "expectations", "facts_of"]

log = structlog.get_logger("crossdock.sla_risk")
TRAINING_WINDOW = timedelta(days=180)
OPEN_WINDOW = timedelta(days=30)
_LATE_RATE_DAYS = timedelta(days=30)
# the documents an expectation is opened or met by
_BEARING = ("purchase_order", "order_acknowledgment", "ship_notice", "invoice")


@dataclass(frozen=True, slots=True)
class Expected:
    kind: str  # 855 | 856 | 810 | 997
    partner: str
    subject: str  # "855 for purchase_order ACME/PO-1 rev 0"
    business_key: str
    document_id: int | None
    opened_at: datetime
    due_at: datetime
    arrived_at: datetime | None
    line_count: int
    order_value: float
    lane: str | None = None
    currency: str | None = None

    def missed(self, at: datetime) -> bool | None:
        """The outcome as known at ``at``."""
        if self.arrived_at is not None and self.arrived_at <= at:
            return self.arrived_at > self.due_at
        return True if self.due_at <= at else None

    @property
    def known_at(self) -> datetime:
        return min(self.arrived_at, self.due_at) if self.arrived_at is not None else self.due_at


def _value(c: Mapping[str, Any]) -> float:
    return float(sum((Decimal(str(ln.get("unit_price") or 0)) * Decimal(str(ln.get("quantity") or 0))
                      for ln in c.get("lines", [])), Decimal(0)))


def _id_of(party: Any) -> Any:
    return (party or {}).get("id")


def facts_of(document_type: str, c: Mapping[str, Any]) -> tuple[Any, ...]:
    """What :func:`expectations` reads of a document's canonical JSON: (seller id, po number,
    purpose, shipment id, the orders' po numbers, line count, order value, currency, item count,
    ship-to id), each only for the document types it is read of."""
    seller = _id_of(c.get("seller"))
    if document_type == "purchase_order":
        return (seller, c.get("po_number"), c.get("purpose"), None, (), len(c.get("lines", [])), _value(c),
                c.get("currency"), 0, None)
    if document_type == "ship_notice":
        orders = c.get("orders", [])
        return (seller, None, None, c.get("shipment_id"), tuple(o.get("po_number") for o in orders), 0, 0.0, None,
                sum(len(o.get("items", [])) for o in orders), _id_of(c.get("ship_to")))
    return (seller, c.get("po_number"), None, c.get("shipment_id"), (), 0, 0.0, None, 0, None)


class DocumentFacts(CanonicalFacts[tuple[Any, ...]]):
    """The facts :func:`expectations` reads of each document (:func:`facts_of`), decoded once per
    document across passes: the flow and SLA-risk passes of a tick share one."""

    def __init__(self, *, keep_calls: int = 4) -> None:
        super().__init__(lambda kind, canonical: facts_of(kind, canonical), keep_calls=keep_calls)


def expectations(s: Session, *, since: datetime, facts: DocumentFacts | None = None) -> list[Expected]:
    """Every expectation opened since ``since``, open or closed.

    ``facts``: the documents decoded by earlier passes (without, each document is decoded now)."""
    profiles = {p.id: partner_dict(s, p.id) or {} for p in s.scalars(select(Partner))}
    sla = with_edi_sla(profiles, {pid: partner_rules(p) for pid, p in profiles.items()})
    suppliers = {pid for pid, p in profiles.items() if p.get("role") == "supplier"}
    columns = (Document.id, Document.document_type, Document.business_key, Document.created_at,
               Document.revision, Document.partner_id, Document.direction)
    rows = expectation_documents(s, (*columns, *(() if facts is not None else (Document.canonical,))),
                                 since=since, suppliers=suppliers, types=_BEARING)
    known = (facts.get(s, [r.id for r in rows]) if facts is not None
             else {r.id: facts_of(r.document_type, r.canonical) for r in rows})
    docs = [(r, known[r.id]) for r in rows]
    first: dict[tuple[str, str, Any], datetime] = {}

    def seen(kind: str, who: str | None, ref: Any, at: datetime) -> None:
        if who and ref and ((kind, who, ref) not in first or at < first[(kind, who, ref)]):
            first[(kind, who, ref)] = at

    for d, f in docs:
        seller, po_number, _purpose, shipment_id, order_pos = f[:5]
        senders = (d.partner_id, seller, d.business_key.split("/")[0])
        if d.direction == "outbound":
            continue
        if d.document_type == "order_acknowledgment":
            for who in senders:
                seen("855", who, po_number, d.created_at)
        elif d.document_type == "ship_notice":
            for po in order_pos:
                for who in senders:
                    seen("856", who, po, d.created_at)
        elif d.document_type == "invoice":
            for ref in (shipment_id, po_number):
                for who in senders:
                    seen("810", who, ref, d.created_at)

    def due(partner: str, kind: str, opened: datetime) -> datetime | None:
        hours = sla[partner].sla_hours.get(kind) if partner in sla else None
        return opened + timedelta(hours=float(hours)) if hours is not None else None

    out: list[Expected] = []
    for d, f in docs:
        seller_id, po_number, purpose, shipment_id, order_pos, line_count, value, currency, items, ship_to = f
        seller = d.partner_id if d.direction == "outbound" else seller_id
        if d.document_type == "purchase_order" and seller in suppliers and purpose != "cancel":
            name = f"purchase_order {d.business_key} rev {d.revision}"
            for kind in ("855", "856"):
                at = due(seller, kind, d.created_at)
                if at is not None:
                    out.append(Expected(kind, seller, f"{kind} for {name}", d.business_key, d.id, d.created_at, at,
                                        first.get((kind, seller, po_number)), line_count, value, None, currency))
        elif d.document_type == "ship_notice" and d.direction != "outbound":
            sender = d.business_key.split("/")[0]
            if sender not in suppliers:
                continue
            at = due(sender, "810", d.created_at)
            if at is None:
                continue
            refs = [shipment_id, *order_pos]
            arrived = min((t for r in refs if (t := first.get(("810", sender, r))) is not None), default=None)
            lane = ship_to
            out.append(Expected("810", sender, f"810 for ship_notice {d.business_key}", d.business_key, d.id,
                                d.created_at, at, arrived, items, 0.0, f"{sender}->{lane}" if lane else None))
    for row in s.execute(select(EdiOutbound.partner_id, EdiOutbound.set_id, EdiOutbound.interchange_control,
                                EdiOutbound.sent_at, EdiOutbound.acknowledged_at, EdiOutbound.document_id)
                         .where(EdiOutbound.ack_status != "not_expected", EdiOutbound.sent_at >= since)):
        at = due(row.partner_id, "997", row.sent_at)
        if at is None:
            continue
        out.append(Expected("997", row.partner_id, f"997 for {row.set_id} interchange {row.interchange_control} "
                            f"to {row.partner_id}", f"{row.partner_id}/interchange/{row.interchange_control}",
                            row.document_id, row.sent_at, at, row.acknowledged_at, 1, 0.0))
    return out


class LateRates:
    """Each partner's share of late expectations among those whose outcome was known before a
    moment and that opened in the 30 days before it (no peeking at later outcomes)."""

    def __init__(self, closed: list[Expected]) -> None:
        self.by_partner: dict[str, list[tuple[datetime, datetime, bool]]] = defaultdict(list)
        for e in closed:
            self.by_partner[e.partner].append((e.known_at, e.opened_at, e.arrived_at is None
                                               or e.arrived_at > e.due_at))
        for rows in self.by_partner.values():
            rows.sort()
        self.keys = {p: [r[0] for r in rows] for p, rows in self.by_partner.items()}
        # per partner: how many rows (by known time) are in, their opening times sorted, and those of the late ones
        self._prefix: dict[str, tuple[int, list[datetime], list[datetime]]] = {}
        self._answered: dict[tuple[str, datetime], float | None] = {}

    def prepare(self, expected: list[Expected]) -> LateRates:
        """Answer ``at`` for the openings of ``expected`` now, in time order (each question then
        adds only the outcomes known since the one before); returns self."""
        for partner, before in sorted({(e.partner, e.opened_at) for e in expected}):
            self._answered[(partner, before)] = self.at(partner, before)
        return self

    def at(self, partner: str, before: datetime) -> float | None:
        if (partner, before) in self._answered:
            return self._answered[(partner, before)]
        rows = self.by_partner.get(partner, [])
        end = bisect.bisect_left(self.keys.get(partner, []), before)
        done, opened, late = self._prefix.get(partner, (0, [], []))
        if end < done:  # earlier than the last question: count them (the order a pass asks in is mostly by time)
            seen = [is_late for known, at, is_late in rows[:end] if at >= before - _LATE_RATE_DAYS]
            return round(sum(seen) / len(seen), 4) if seen else None
        # later: add the outcomes known since the last question, then count by opening time
        for _known, at, is_late in rows[done:end]:
            bisect.insort(opened, at)
            if is_late:
                bisect.insort(late, at)
        self._prefix[partner] = (end, opened, late)
        since = before - _LATE_RATE_DAYS
        n = len(opened) - bisect.bisect_left(opened, since)
        return round((len(late) - bisect.bisect_left(late, since)) / n, 4) if n else None


def example_of(e: Expected, rates: LateRates, *, missed: bool | None) -> RiskExample:
    return RiskExample(e.partner, e.kind, e.lane, e.opened_at, e.due_at, e.line_count, e.order_value,
                       rates.at(e.partner, e.opened_at), missed)


def _dedupe_key(e: Expected) -> str:
    return f"sla:{e.subject}"


def _latest_predictions(s: Session, keys: Sequence[str]) -> dict[str, IntelDecision]:
    """The last prediction recorded under each of ``keys``: a query per 500 keys, not one per
    open expectation (a pass predicts every open order, ship notice and invoice)."""
    latest: dict[str, IntelDecision] = {}
    unique = sorted(set(keys))
    for at in range(0, len(unique), 500):
        last_ids = (select(func.max(IntelDecision.id))
                    .where(IntelDecision.kind == "prediction", IntelDecision.dedupe_key.in_(unique[at:at + 500]))
                    .group_by(IntelDecision.dedupe_key))
        for row in s.scalars(select(IntelDecision).where(IntelDecision.id.in_(last_ids))):
            latest[str(row.dedupe_key)] = row
    return latest


class SlaRiskPass:
    def __init__(self, db: Database, registry: ModelRegistry, refdata: ReferenceData, *,
                 threshold: float = 0.7, facts: DocumentFacts | None = None) -> None:
        self.db = db
        self.registry = registry
        self.refdata = refdata
        self.threshold = threshold
        # the documents' facts, decoded once each across passes
        self.facts = facts if facts is not None else DocumentFacts()

    def train(self, *, now: datetime | None = None) -> dict[str, Any]:
        """Train a new version from the closed expectations of the training window."""
        now = now or utcnow()
        with self.db.session() as s:
            found = expectations(s, since=now - TRAINING_WINDOW)
            closed = [e for e in found if e.missed(now) is not None]
            rates = LateRates(closed).prepare(closed)
            examples = [example_of(e, rates, missed=e.missed(now)) for e in closed]
            return self.registry.train(s, "sla_risk", lambda v: train_sla_risk(examples, version=v, now=now),
                                       examples=len(examples))

    def run(self, *, now: datetime | None = None) -> int:
        """Predict every open expectation; returns how many ``sla_risk`` cases it opened."""
        now = now or utcnow()
        model, warning = self.registry.active("sla_risk")
        with self.db.reader() as s:
            found = expectations(s, since=now - max(OPEN_WINDOW, _LATE_RATE_DAYS * 2), facts=self.facts)
        open_ = [e for e in found if e.missed(now) is None and e.opened_at >= now - OPEN_WINDOW]
        rates = LateRates([e for e in found if e.missed(now) is not None]).prepare(open_)
        opened = 0
        with self.db.session() as s:
            latest = _latest_predictions(s, [_dedupe_key(e) for e in open_])
            for e in open_:
                prediction = assess(example_of(e, rates, missed=None), model, now=now)
                if warning and prediction.warning and "no SLA risk model" in prediction.warning:
                    prediction = _with_warning(prediction, warning)
                decision = self._record(s, e, prediction, latest)
                # only a trained model raises a case: the rule estimate is the elapsed share of the SLA
                # window, which the missing-document checks already cover at the deadline
                if decision is not None and decision.case_id is None and prediction.source == "model" \
                        and should_raise_case(prediction, threshold=self.threshold, now=now, due_at=e.due_at):
                    decision.case_id = self._open_case(s, e, prediction, now)
                    opened += 1
        if opened:
            log.info("sla_risk.cases_opened", count=opened)
        return opened

    def _record(self, s: Session, e: Expected, p: Prediction,
                latest: dict[str, IntelDecision]) -> IntelDecision | None:
        """The expectation's prediction: the last one recorded when nothing that matters moved,
        else a new row (``latest``: the last prediction per dedupe key, kept up to date here)."""
        key = _dedupe_key(e)
        last = latest.get(key)
        if last is not None and last.model_version == p.model_version and last.warning == p.warning \
                and abs((last.value or 0.0) - p.probability) < 0.05:
            return last
        row = IntelDecision(
            kind="prediction", subject=e.subject, dedupe_key=key, document_id=e.document_id, partner_id=e.partner,
            model_name="sla_risk", model_version=p.model_version, source=p.source, confidence=p.confidence,
            value=p.probability, inputs={"expected": e.kind, "opened_at": e.opened_at.isoformat(),
                                         "due_at": e.due_at.isoformat(), "line_count": e.line_count,
                                         "order_value": e.order_value, "lane": e.lane},
            features=dict(p.features), outcome={"top_factors": [list(f) for f in p.top_factors]},
            status="recorded", warning=p.warning, case_id=last.case_id if last is not None else None)
        s.add(row)
        s.flush()
        latest[key] = row
        return row

    def _open_case(self, s: Session, e: Expected, p: Prediction, now: datetime) -> int:
        who = f"model v{p.model_version}" if p.model_version is not None else "rule estimate"
        hours = max(0.0, (e.due_at - now).total_seconds() / 3600)
        found = detection(
            "sla_risk", e.subject.split(" for ", 1)[1], partner=e.partner,
            message=f"{p.probability:.0%} likely to miss its {e.kind} from {e.partner} (due {e.due_at:%Y-%m-%d %H:%M} "
                    f"UTC, in {hours:.1f} h; {who})",
            evidence={"expected": e.kind, "probability": p.probability, "model_version": p.model_version,
                      "source": p.source, "confidence": p.confidence, "due_at": e.due_at.isoformat(),
                      "top_factors": [list(f) for f in p.top_factors], "warning": p.warning,
                      "recommended_action": "request_855_again" if e.kind == "855" else "contact_partner"},
            amount_at_risk=Decimal(str(round(e.order_value, 2))) if e.order_value else None, currency=e.currency)
        profile = partner_dict(s, e.partner)
        decision = decide(found, partner_policies(profile), e.partner)
        ids = open_cases(s, [Found(found, decision, e.business_key)], partner_id=e.partner, refdata=self.refdata,
                         document_id=e.document_id)
        return ids[0]


def _with_warning(p: Prediction, warning: str) -> Prediction:
    from dataclasses import replace

    return replace(p, warning=warning)
