"""Time-based checks the scheduler runs: overdue acknowledgments, shipments not invoiced,
changes waiting too long for their original. Each builds the plain records the pure
detectors take from the hub's tables, and opens a case per detection unless a case of that
type was opened for the same document (or parked job) before.

* ``missing_855``: a purchase order whose seller is a supplier partner and for which no
  order acknowledgment from that supplier is held, past the supplier's 855 SLA.
* ``missing_856``: the same order with no ship notice from that supplier, past its 856 SLA.
* ``missing_810``: a supplier's ship notice with no invoice naming its shipment or order,
  past the supplier's 810 SLA (counted from the ship notice).
* ``missing_997``: an EDI interchange Crossdock sent whose functional acknowledgment is
  still pending after the partner's 997 SLA (the EDI profile's ``ack_expected_within_seconds``
  when the partner's exception rules do not name one).
* ``shipment_not_invoiced``: a ship notice (not a supplier's) with no invoice naming its
  shipment or order.
* ``transfer_not_received``: a ship notice from an internal partner (a stock transfer
  between our warehouses) with no ``delivered`` shipment status for its shipment or tracking
  number after the partner's ``transfers.transit_days`` (default 5).
* ``revision_waiting_for_original``: a parked change past the partner's wait limit.

Each pass reads the documents and interchanges of the last ``LOOKBACK`` (30 days): the
longest SLA is days, and a pass every few seconds opens a case long before a document
leaves the window, so the cost of a pass stays bounded as the tables grow. The fields a pass
needs of a document's canonical JSON are decoded once per document (``hub.ops.facts``), and
the cases already opened for what a pass finds are looked up in a few queries.

Usage:
    timers = SlaTimers(db, refdata); scheduler.every(5, "sla-timers", timers.run)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import structlog
from sqlalchemy import or_, select

from hub.ops.cases import open_cases
from hub.ops.facts import CanonicalFacts
from hub.ops.rules import partner_policies, partner_rules
from hub.ops.stages import Found
from hub.partners import partner_dict
from hub.storage.db import Database
from hub.storage.edi_tables import EdiOutbound
from hub.storage.tables import (
    NOT_AN_ORDER,
    Case,
    Document,
    InboxEntry,
    Job,
    JsonText,
    Partner,
    utcnow,
)
from pipelines.exceptions import Detection, PartnerRules, decide
from pipelines.exceptions.detectors import (
    Expectation,
    OpenShipment,
    OpenTransfer,
    WaitingRevision,
    detect_overdue_documents,
    detect_uninvoiced_shipments,
    detect_unreceived_transfers,
    detect_waiting_revisions,
)
from pipelines.refdata import ReferenceData

__all__ = ["LOOKBACK", "SlaTimers", "expectation_documents", "with_edi_sla"]

log = structlog.get_logger("crossdock.timers")
_LIVE = ("accepted", "delivered", "delivery_failed")
LOOKBACK = timedelta(days=30)


def _total(canonical: Mapping[str, Any]) -> Decimal:
    return sum((Decimal(str(ln.get("unit_price") or 0)) * Decimal(str(ln.get("quantity") or 0))
                for ln in canonical.get("lines", [])), Decimal(0))


class _Facts(NamedTuple):
    """What a pass reads of a document's canonical JSON (each field only for the types it is read of)."""

    seller: Any = None
    po_number: Any = None
    purpose: Any = None
    shipment_id: Any = None
    has_shipment_id: bool = False
    tracking_number: Any = None
    order_pos: tuple[Any, ...] = ()
    total: Decimal | None = None
    currency: Any = None
    delivered: bool = False  # a shipment status with a delivered event
    ship_from: str = ""  # a transfer's warehouses
    ship_to: str = ""


def _facts(document_type: str, c: Mapping[str, Any]) -> _Facts:
    seller = (c.get("seller") or {}).get("id")
    if document_type == "purchase_order":
        return _Facts(seller, c.get("po_number"), c.get("purpose"), total=_total(c), currency=c.get("currency"))
    if document_type == "ship_notice":
        return _Facts(seller, shipment_id=c.get("shipment_id"), has_shipment_id="shipment_id" in c,
                      tracking_number=c.get("tracking_number"),
                      order_pos=tuple(o.get("po_number") for o in c.get("orders", [])),
                      ship_from=str((c.get("ship_from") or c.get("seller") or {}).get("id")),
                      ship_to=str((c.get("ship_to") or {}).get("id")))
    if document_type == "shipment_status":
        return _Facts(seller, shipment_id=c.get("shipment_id"), tracking_number=c.get("tracking_number"),
                      delivered=any(e.get("code") == "delivered" for e in c.get("events", [])))
    return _Facts(seller, c.get("po_number"), shipment_id=c.get("shipment_id"))


class SlaTimers:
    def __init__(self, db: Database, refdata: ReferenceData) -> None:
        self.db = db
        self.refdata = refdata
        # what each document's canonical JSON says, decoded once per document across passes
        self.facts: CanonicalFacts[_Facts] = CanonicalFacts(lambda kind, canonical: _facts(kind, canonical))

    def run(self) -> int:
        """One pass; returns how many cases it opened."""
        now = utcnow()
        with self.db.reader() as s:
            profiles = {p.id: partner_dict(s, p.id) or {} for p in s.scalars(select(Partner))}
            rules = {pid: partner_rules(p) for pid, p in profiles.items()}
            found = [*self._overdue(s, profiles, rules, now), *self._waiting(s, rules, now)]
        opened = 0
        with self.db.session() as s:
            known = _known_cases(s, found)
            for detection, business_key, job_id, partner in found:
                key = (detection.code, job_id) if job_id is not None else (detection.code, business_key)
                if key in known:
                    continue
                decision = decide(detection, partner_policies(profiles.get(partner)), partner)
                open_cases(s, [Found(detection, decision, business_key)], partner_id=partner,
                           refdata=self.refdata, job_id=job_id)
                known.add(key)
                opened += 1
        if opened:
            log.info("timers.cases_opened", count=opened)
        return opened

    def _overdue(self, s: Any, profiles: Mapping[str, Mapping[str, Any]], rules: Mapping[str, PartnerRules],
                 now: datetime) -> list[tuple[Detection, str, int | None, str]]:
        suppliers = {pid for pid, p in profiles.items() if p.get("role") == "supplier"}
        rows = expectation_documents(s, (Document.id, Document.document_type, Document.business_key,
                                         Document.created_at, Document.revision, Document.partner_id,
                                         Document.direction), since=now - LOOKBACK, suppliers=suppliers)
        known = self.facts.get(s, [d.id for d in rows])
        docs = [(d, known[d.id]) for d in rows]
        # an answer counts for the partner that sent it and for the seller it names
        acked = {(who, f.po_number) for d, f in docs if d.document_type == "order_acknowledgment"
                 for who in (d.partner_id, f.seller)}
        invoiced = {v for d, f in docs if d.document_type == "invoice" for v in (f.shipment_id, f.po_number) if v}
        shipped = {(who, po) for d, f in docs if d.document_type == "ship_notice"
                   for po in f.order_pos for who in (d.partner_id, d.business_key.split("/")[0])}
        internal = {pid for pid, p in profiles.items() if p.get("role") == "internal"}
        delivered = {ref for d, f in docs if d.document_type == "shipment_status" and f.delivered
                     for ref in (f.shipment_id, f.tracking_number) if ref}
        transfers: list[OpenTransfer] = []
        by_transfer: dict[str, tuple[str, str]] = {}
        expectations, by_doc = [], {}
        shipments, by_ship = [], {}
        for d, f in docs:
            # an order of ours: sent to a supplier (outbound) or handed in for one (its seller)
            seller = d.partner_id if d.direction == "outbound" else f.seller
            if d.document_type == "purchase_order" and seller in suppliers and f.purpose != "cancel":
                name = f"purchase_order {d.business_key} rev {d.revision}"
                by_doc[name] = d.business_key
                if (seller, f.po_number) not in acked:
                    expectations.append(Expectation("855", seller, name, d.created_at, f.total, f.currency))
                if (seller, f.po_number) not in shipped:
                    expectations.append(Expectation("856", seller, name, d.created_at, f.total, f.currency))
            if d.direction == "outbound":
                continue  # our own ship notices and invoices to customers are not expectations
            if d.document_type == "ship_notice" and d.partner_id in internal:
                transfer = self._transfer(d, f, profiles[d.partner_id], delivered)
                if transfer is not None:
                    transfers.append(transfer)
                    by_transfer[f"transfer {transfer.transfer_id}"] = (d.business_key, d.partner_id)
                continue  # a transfer between our warehouses is received, not invoiced
            if d.document_type == "ship_notice" and f.shipment_id not in invoiced \
                    and not any(po in invoiced for po in f.order_pos):
                sender = d.business_key.split("/")[0]
                if sender in suppliers:  # a supplier owes us its invoice
                    name = f"ship_notice {d.business_key}"
                    expectations.append(Expectation("810", sender, name, d.created_at))
                    by_doc[name] = d.business_key
                    continue
                if not f.has_shipment_id:
                    raise KeyError("shipment_id")
                shipments.append(OpenShipment(f.shipment_id, sender, d.created_at))
                by_ship[f"ship_notice {sender}/{f.shipment_id}"] = d.business_key
        expectations += self._unacknowledged(s, profiles, by_doc, since=now - LOOKBACK)
        out: list[tuple[Detection, str, int | None, str]] = [
            (f, by_doc[f.document], None, f.partner or "")
            for f in detect_overdue_documents(expectations, now=now, partners=with_edi_sla(profiles, rules))]
        out += [(f, by_ship[f.document], None, f.partner or "")
                for f in detect_uninvoiced_shipments(shipments, now=now, partners=rules)]
        out += [(f, by_transfer[f.document][0], None, by_transfer[f.document][1])
                for f in detect_unreceived_transfers(transfers, now=now)]
        return out

    @staticmethod
    def _transfer(d: Any, f: _Facts, profile: Mapping[str, Any], delivered: set[str]) -> OpenTransfer | None:
        if f.shipment_id in delivered or (f.tracking_number or "") in delivered:
            return None
        transit = (profile.get("transfers") or {}).get("transit_days")
        return OpenTransfer(str(f.shipment_id), f.ship_from, f.ship_to, d.created_at,
                            float(transit) if transit is not None else None)

    @staticmethod
    def _unacknowledged(s: Any, profiles: Mapping[str, Mapping[str, Any]],
                        by_doc: dict[str, str], *, since: datetime) -> list[Expectation]:
        """Interchanges we sent that still wait for the partner's 997 / CONTRL."""
        out = []
        for row in s.execute(select(EdiOutbound.partner_id, EdiOutbound.set_id, EdiOutbound.interchange_control,
                                    EdiOutbound.po_number, EdiOutbound.sent_at)
                             .where(EdiOutbound.ack_status == "pending", EdiOutbound.sent_at >= since)):
            if row.partner_id not in profiles:
                continue
            name = f"{row.set_id} interchange {row.interchange_control} to {row.partner_id}"
            by_doc[name] = f"{row.partner_id}/interchange/{row.interchange_control}"
            out.append(Expectation("997", row.partner_id, name, row.sent_at))
        return out

    def _waiting(self, s: Any, rules: Mapping[str, PartnerRules],
                 now: datetime) -> list[tuple[Detection, str, int | None, str]]:
        waiting, jobs = [], {}
        for job, received in s.execute(select(Job, InboxEntry.received_at)
                                       .join(InboxEntry, InboxEntry.id == Job.inbox_id)
                                       .where(Job.status == "waiting")):
            info = job.payload.get("waiting") or {}
            waiting.append(WaitingRevision(info.get("document", ""), job.partner_id or "",
                                           int(info.get("revision", 0)), received))
            jobs[info.get("document", "")] = (job.id, info.get("business_key", ""))
        out: list[tuple[Detection, str, int | None, str]] = []
        for f in detect_waiting_revisions(waiting, now=now, partners=rules):
            job_id, key = jobs[f.document]
            out.append((f, key, job_id, f.partner or ""))
        return out


def _known_cases(s: Any, found: list[tuple[Detection, str, int | None, str]]) -> set[tuple[str, Any]]:
    """(case type, job id) and (case type, business key) of the cases already opened for what a
    pass found: a few queries per pass (500 keys each) instead of one per overdue document."""
    codes = sorted({d.code for d, _key, _job, _partner in found})
    jobs = sorted({job for _d, _key, job, _partner in found if job is not None})
    keys = sorted({key for _d, key, job, _partner in found if job is None})
    known: set[tuple[str, Any]] = set()
    for column, values in ((Case.job_id, jobs), (Case.business_key, keys)):
        for at in range(0, len(values), 500):
            known.update((code, value) for code, value in s.execute(
                select(Case.type, column).where(Case.type.in_(codes), column.in_(values[at:at + 500]))))
    return known


def expectation_documents(s: Any, columns: Sequence[Any], *, since: datetime, suppliers: Iterable[str],
                          types: Sequence[str] | None = None) -> list[Any]:
    """The live and outbound documents since ``since`` that can open or close an expectation,
    oldest first: every document but a purchase order whose seller is not a supplier.

    Only orders to suppliers are expectations (an 855, 856 and 810 owed to us); customers'
    orders, most of a distributor's documents, are left in the database instead of read by
    every pass of the timers (every 5 s) and the SLA-risk model. Three queries, each served by
    its own index, instead of one: asked in one, "is this order's seller a supplier" read the
    JSON of every customer order of the window in the database on every pass (1 s a pass at
    65,000 orders, and growing with them). The other documents come by a partial index that
    leaves orders out (by the created_at index the query stepped over every order of the window:
    0.1–0.6 s a pass at 158,000), orders of ours by partner (outbound) and by the seller's
    expression index (handed in for a supplier); nothing else reads JSON.
    """
    suppliers = sorted(set(suppliers))
    where = [or_(Document.status.in_(_LIVE), Document.direction == "outbound"), Document.created_at >= since]
    if types is not None:
        where.append(Document.document_type.in_(types))
    queries = [select(*columns).where(*where, NOT_AN_ORDER)]  # by the partial index that leaves orders out
    if suppliers and (types is None or "purchase_order" in types):
        queries += [
            select(*columns).where(*where, Document.document_type == "purchase_order",
                                   Document.direction == "outbound", Document.partner_id.in_(suppliers)),
            select(*columns).where(*where, Document.document_type == "purchase_order",
                                   Document.direction != "outbound",
                                   JsonText(Document.canonical, "seller", "id").in_(suppliers)),
        ]
    return sorted((row for query in queries for row in s.execute(query)), key=lambda row: row.id)


def with_edi_sla(profiles: Mapping[str, Mapping[str, Any]],
                 rules: Mapping[str, PartnerRules]) -> dict[str, PartnerRules]:
    """A partner's 997 SLA is its EDI profile's ``ack_expected_within_seconds`` unless its
    exception rules name one."""
    out = dict(rules)
    for pid, profile in profiles.items():
        edi = profile.get("edi") or {}
        named = ((profile.get("exceptions") or {}).get("sla_hours") or {}).get("997")
        if edi and named is None and pid in out:
            seconds = edi.get("ack_expected_within_seconds", 86400)
            out[pid] = dataclasses.replace(out[pid], sla_hours={**out[pid].sla_hours, "997": seconds / 3600})
    return out
