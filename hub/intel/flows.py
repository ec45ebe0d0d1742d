"""Flow anomaly checks in the hub: hourly counts from the hub's tables, the detectors of
``pipelines.intelligence.anomaly``, and one ``flow_anomaly`` case per alert.

Flows, per partner and hour (UTC), over the baseline weeks plus the current one:

* ``850`` / ``855`` / ``856`` / ``810`` / ... : documents received, by type (volume: orders
  that stop arriving or double), and apart from them the documents the hub already had
  (``FlowPoint.duplicates``: a ``resends`` row for each document whose idempotency key was
  known, and for a receipt of the same bytes again the documents of the receipt it repeats):
  a partner resending what it already sent;
* ``receipts``: everything the partner sent, with the receipts that needed a retry (error
  rate) and those parked as dead letters (dead-letter rate) — volume is judged per document
  type, rates per partner, so one outage is reported once;
* ``997``: functional acknowledgments of what Crossdock sent, with the median time they took
  (acknowledgment latency).

The hub's own sends to each partner (``hub.intel.sends``: interchanges taken and failed per
hour queued) show a partner whose whole system is down, however few documents it sends: "ACME
refused 14 of 14 of our sends since 09:00 (normally 1 in 300 fails): its system looks down".

Supplier lateness drift reads the 856 expectations of ``hub.intel.risk``: how many hours after
its SLA each ship notice arrived. A lane whose carrier keeps failing reads the carriers' tracking
reports, each an attempt on its shipment's lane (``hub.intel.lanes``); a carrier API that fails
outright is the carrier API failure case of ``hub.sources``.

An alert opens a case once: its ``alert_key`` (partner, flow, metric, direction, day) is
recorded with the case in ``intel_decisions``, and while that case is open the same alert on
a later day adds nothing (one case per problem, however long it lasts).

Usage:
    FlowWatch(db, refdata).run()     # scheduled every intel_interval_seconds
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import func, select

from hub.intel.hours import as_hour, hour_of
from hub.intel.lanes import NoticeLanes, lane_attempts
from hub.intel.risk import DocumentFacts, expectations
from hub.intel.sends import send_points
from hub.ops.cases import open_cases
from hub.ops.rules import partner_policies
from hub.ops.stages import Found
from hub.partners import partner_dict
from hub.storage.edi_tables import EdiOutbound
from hub.storage.intel_tables import IntelDecision
from hub.storage.tables import Attempt, Case, DeadLetter, Document, InboxEntry, Resend, utcnow
from pipelines.exceptions import Detection, decide
from pipelines.intelligence.anomaly import (
    AnomalyConfig,
    FlowPoint,
    LatenessObservation,
    detect_failing_lanes,
    detect_failing_sends,
    detect_flow_anomalies,
    detect_late_drift,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hub.storage.db import Database
    from pipelines.refdata import ReferenceData

__all__ = ["SET_NAMES", "FlowWatch", "flow_points"]

log = structlog.get_logger("crossdock.flows")
SET_NAMES = {"purchase_order": "850", "order_acknowledgment": "855", "ship_notice": "856", "invoice": "810",
             "shipment_status": "214", "order_change": "860"}
RECEIPTS = "receipts"
_VOLUME = ("volume",)


def flow_points(s: Session, *, since: datetime, dialect: str) -> list[FlowPoint]:
    """Hourly flow points of every partner since ``since`` (hours with nothing have no point)."""
    counts: dict[tuple[str, str, datetime], dict[str, Any]] = defaultdict(
        lambda: {"received": 0, "errors": 0, "dead_letters": 0, "latency": [], "duplicates": 0})
    h = hour_of(Document.created_at, dialect)
    for partner, kind, hour, n in s.execute(
            select(Document.partner_id, Document.document_type, h, func.count())
            .where(Document.direction != "outbound", Document.created_at >= since)
            .group_by(Document.partner_id, Document.document_type, h)):
        counts[(partner, SET_NAMES.get(kind, kind), as_hour(hour))]["received"] += n
    for partner, kind, hour, n in _resent(s, since=since, dialect=dialect):
        counts[(partner, SET_NAMES.get(kind, kind), as_hour(hour))]["duplicates"] += n
    h = hour_of(InboxEntry.received_at, dialect)
    for partner, hour, n in s.execute(select(InboxEntry.partner_id, h, func.count())
                                      .where(InboxEntry.received_at >= since,
                                             InboxEntry.duplicate_of.is_(None))
                                      .group_by(InboxEntry.partner_id, h)):
        counts[(partner, RECEIPTS, as_hour(hour))]["received"] += n
    # receipts that needed a retry, and receipts parked as dead letters, per partner and hour
    for field, counted, joined, condition in (
            ("errors", InboxEntry.id, (Attempt, Attempt.inbox_id == InboxEntry.id),
             Attempt.outcome.in_(("retry", "dead_letter"))),
            ("dead_letters", DeadLetter.id, (DeadLetter, DeadLetter.inbox_id == InboxEntry.id), None)):
        query = (select(InboxEntry.partner_id, h, func.count(func.distinct(counted))).join(*joined)
                 .where(InboxEntry.received_at >= since))
        if condition is not None:
            query = query.where(condition)
        for partner, hour, n in s.execute(query.group_by(InboxEntry.partner_id, h)):
            counts[(partner, RECEIPTS, as_hour(hour))][field] += n
    for partner, sent, acked in s.execute(select(EdiOutbound.partner_id, EdiOutbound.sent_at,
                                                 EdiOutbound.acknowledged_at)
                                          .where(EdiOutbound.acknowledged_at >= since,
                                                 EdiOutbound.sent_at.is_not(None))):
        if sent is None or acked is None:
            continue
        cell = counts[(partner, "997", as_hour(acked))]
        cell["received"] += 1
        cell["latency"].append(max(0.0, (_aware(acked) - _aware(sent)).total_seconds()))
    return [FlowPoint(p, k, hour, c["received"], c["errors"], c["dead_letters"],
                      median(c["latency"]) if c["latency"] else None, c["duplicates"])
            for (p, k, hour), c in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2]))]


def _resent(s: Session, *, since: datetime, dialect: str) -> list[tuple[str, str, Any, int]]:
    """(partner, document type, hour, count) of documents the hub already had: resends of a
    known idempotency key by the hour they were recognised, and the documents of a receipt
    whose bytes arrived again (a transport replay, archived unprocessed) by the replay's hour."""
    h = hour_of(Resend.created_at, dialect)
    rows = [(p, k, hour, n) for p, k, hour, n in s.execute(
        select(Resend.partner_id, Resend.document_type, h, func.count())
        .where(Resend.created_at >= since).group_by(Resend.partner_id, Resend.document_type, h))]
    h = hour_of(InboxEntry.received_at, dialect)
    for table, column in ((Document, Document.inbox_id), (Resend, Resend.inbox_id)):
        rows += [(p, k, hour, n) for p, k, hour, n in s.execute(
            select(InboxEntry.partner_id, table.document_type, h, func.count())
            .join(table, column == InboxEntry.duplicate_of)
            .where(InboxEntry.received_at >= since, InboxEntry.duplicate_of.is_not(None))
            .group_by(InboxEntry.partner_id, table.document_type, h))]
    return rows


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _keep(found: Detection) -> bool:
    """Volume per document type, rates per partner: each alert once."""
    volume = str(found.evidence.get("metric", "")).startswith(_VOLUME)
    receipts = found.document.startswith(f"{RECEIPTS} ")
    return volume != receipts


class FlowWatch:
    def __init__(self, db: Database, refdata: ReferenceData, *, config: AnomalyConfig | None = None,
                 facts: DocumentFacts | None = None) -> None:
        self.db = db
        self.refdata = refdata
        self.config = config or AnomalyConfig()
        self.notices = NoticeLanes()  # the ship notices' lanes, read once each across passes
        # the documents the 856 expectations are read from, likewise
        self.facts = facts if facts is not None else DocumentFacts()

    def detections(self, *, now: datetime | None = None) -> list[Detection]:
        now = now or utcnow()
        since = now - timedelta(weeks=self.config.baseline_weeks + 1)
        with self.db.reader() as s:
            points = flow_points(s, since=since, dialect=self.db.engine.dialect.name)
            lateness = [LatenessObservation(e.partner, e.arrived_at, (e.arrived_at - e.due_at).total_seconds() / 3600)
                        for e in expectations(s, since=now - timedelta(days=self.config.lateness_baseline_days + 7),
                                              facts=self.facts)
                        if e.kind == "856" and e.arrived_at is not None]
            attempts = lane_attempts(s, since=now - timedelta(days=self.config.carrier_baseline_days + 2),
                                     notices=self.notices)
            sends = send_points(s, since=now - timedelta(days=self.config.send_baseline_days + 2),
                                dialect=self.db.engine.dialect.name)
        found = [f for f in detect_flow_anomalies(points, now=now, config=self.config) if _keep(f)]
        found += detect_late_drift(lateness, now=now, config=self.config)
        found += detect_failing_lanes(attempts, now=now, config=self.config)
        found += detect_failing_sends(sends, now=now, config=self.config)
        return found

    def run(self, *, now: datetime | None = None) -> int:
        """One pass; returns how many cases it opened."""
        return self.open(self.detections(now=now))

    def open(self, found: Iterable[Detection]) -> int:
        opened = 0
        with self.db.session() as s:
            for d in found:
                key = str(d.evidence.get("alert_key") or f"{d.partner}|{d.document}|{d.message}")
                if s.scalar(select(IntelDecision.id).where(IntelDecision.kind == "anomaly",
                                                           IntelDecision.dedupe_key == key).limit(1)) is not None:
                    continue
                # a problem that goes on past midnight: the same alert of an earlier day whose case
                # is still open keeps that case (one case per problem, not one per day)
                ongoing = key.rsplit("|", 1)[0] + "|%"
                if s.scalar(select(IntelDecision.id).join(Case, Case.id == IntelDecision.case_id)
                            .where(IntelDecision.kind == "anomaly", IntelDecision.dedupe_key.like(ongoing),
                                   Case.status.in_(("open", "assigned", "awaiting_approval"))).limit(1)) is not None:
                    continue
                opened += self._case(s, d, key)
        if opened:
            log.info("flows.anomalies", count=opened)
        return opened

    def _case(self, s: Session, d: Detection, key: str) -> int:
        partner = d.partner or ""
        decision = decide(d, partner_policies(partner_dict(s, partner)), partner)
        ids = open_cases(s, [Found(d, decision, f"{partner}/flow/{d.document}")], partner_id=partner,
                         refdata=self.refdata)
        s.add(IntelDecision(kind="anomaly", subject=d.document, dedupe_key=key, case_id=ids[0], partner_id=partner,
                            source="rules", value=float(d.evidence.get("robust_z") or 0.0),
                            inputs={k: v for k, v in d.evidence.items() if k != "recommended_action"},
                            outcome={"message": d.message}, status="recorded"))
        return 1
