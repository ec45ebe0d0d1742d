"""Time-based detectors: the scheduler calls these with ``now`` and what is still open.

They take plain records (the hub builds them from its tables) rather than documents:
expectations of a 997/855/856/810, shipments without an invoice, transfers in transit,
changes waiting for their original, carrier API failures and per-partner volumes. All
datetimes must be timezone-aware.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from pipelines.exceptions.model import Detection, PartnerRules, detection
from pipelines.exceptions.taxonomy import Severity, exception_type

__all__ = [
    "CarrierFailure",
    "Expectation",
    "FlowWindow",
    "OpenShipment",
    "OpenTransfer",
    "WaitingRevision",
    "detect_carrier_failure",
    "detect_flow_anomalies",
    "detect_overdue_documents",
    "detect_uninvoiced_shipments",
    "detect_unreceived_transfers",
    "detect_waiting_revisions",
]

ExpectedDocument = Literal["997", "855", "856", "810"]


def _hours(delta: timedelta) -> Decimal:
    return (Decimal(delta.total_seconds()) / 3600).quantize(Decimal("0.1"))


def _rules(partners: Mapping[str, PartnerRules], partner_id: str) -> PartnerRules:
    return partners.get(partner_id) or PartnerRules(partner_id)


@dataclass(frozen=True, slots=True)
class Expectation:
    """``document`` (e.g. ``"purchase_order ACME/PO-1 rev 0"``) awaits a ``kind`` since ``since``."""

    kind: ExpectedDocument
    partner_id: str
    document: str
    since: datetime
    amount: Decimal | None = None
    currency: str | None = None


def detect_overdue_documents(expectations: Sequence[Expectation], *, now: datetime,
                             partners: Mapping[str, PartnerRules]) -> list[Detection]:
    """``missing_<kind>`` for each expectation past the partner's SLA; one level more severe
    once it is overdue by more than the SLA again.

    Usage:
        detect_overdue_documents(open_expectations, now=utcnow(), partners=rules_by_partner)
    """
    out = []
    for exp in expectations:
        sla = _rules(partners, exp.partner_id).sla_hours.get(exp.kind)
        if sla is None:
            continue  # the partner does not promise this document
        due = exp.since + timedelta(hours=sla)
        if now <= due:
            continue
        code = f"missing_{exp.kind}"
        late = now - due
        out.append(detection(
            code, exp.document, partner=exp.partner_id,
            severity=exception_type(code).severity.raised() if late > timedelta(hours=sla) else None,
            message=f"no {exp.kind} from {exp.partner_id} after {_hours(now - exp.since)} h "
                    f"(SLA {sla} h, due {due.isoformat()})",
            evidence={"sla_hours": sla, "since": exp.since.isoformat(), "due_at": due.isoformat(),
                      "hours_overdue": _hours(late)},
            amount_at_risk=exp.amount, currency=exp.currency))
    return out


@dataclass(frozen=True, slots=True)
class OpenShipment:
    shipment_id: str
    partner_id: str
    shipped_at: datetime
    amount: Decimal | None = None
    currency: str | None = None


def detect_uninvoiced_shipments(shipments: Sequence[OpenShipment], *, now: datetime,
                                partners: Mapping[str, PartnerRules]) -> list[Detection]:
    """Shipments with no invoice ``invoice_after_days`` after they shipped."""
    out = []
    for s in shipments:
        days = _rules(partners, s.partner_id).invoice_after_days
        if now - s.shipped_at <= timedelta(days=days):
            continue
        out.append(detection(
            "shipment_not_invoiced", f"ship_notice {s.partner_id}/{s.shipment_id}", partner=s.partner_id,
            message=f"shipped {s.shipped_at.date()}, not invoiced after {(now - s.shipped_at).days} days "
                    f"(limit {days})",
            evidence={"shipped_at": s.shipped_at.isoformat(), "days_open": (now - s.shipped_at).days,
                      "limit_days": days},
            amount_at_risk=s.amount, currency=s.currency))
    return out


@dataclass(frozen=True, slots=True)
class OpenTransfer:
    transfer_id: str
    from_warehouse: str
    to_warehouse: str
    shipped_at: datetime
    transit_days: float | None = None
    amount: Decimal | None = None
    currency: str | None = None


def detect_unreceived_transfers(transfers: Sequence[OpenTransfer], *, now: datetime,
                                default_transit_days: int = 5) -> list[Detection]:
    """Transfers shipped but not received within their transit time."""
    out = []
    for t in transfers:
        days = t.transit_days if t.transit_days is not None else default_transit_days
        if now - t.shipped_at <= timedelta(days=days):
            continue
        out.append(detection(
            "transfer_not_received", f"transfer {t.transfer_id}",
            message=f"shipped from {t.from_warehouse} on {t.shipped_at.date()}, not received at "
                    f"{t.to_warehouse} after {(now - t.shipped_at).days} days (transit {days})",
            evidence={"from_warehouse": t.from_warehouse, "to_warehouse": t.to_warehouse,
                      "days_in_transit": (now - t.shipped_at).days, "transit_days": days},
            amount_at_risk=t.amount, currency=t.currency))
    return out


@dataclass(frozen=True, slots=True)
class WaitingRevision:
    """A change (``document``, revision ``revision``) parked until its original arrives."""

    document: str
    partner_id: str
    revision: int
    received_at: datetime


def detect_waiting_revisions(waiting: Sequence[WaitingRevision], *, now: datetime,
                             partners: Mapping[str, PartnerRules]) -> list[Detection]:
    """Changes parked longer than the partner's ``revision_wait_hours`` for their original."""
    out = []
    for w in waiting:
        limit = _rules(partners, w.partner_id).revision_wait_hours
        if now - w.received_at <= timedelta(hours=limit):
            continue
        out.append(detection(
            "revision_waiting_for_original", w.document, partner=w.partner_id,
            message=f"revision {w.revision} waited {_hours(now - w.received_at)} h for its original "
                    f"(limit {limit} h)",
            evidence={"revision": w.revision, "received_at": w.received_at.isoformat(),
                      "hours_waiting": _hours(now - w.received_at), "limit_hours": limit}))
    return out


@dataclass(frozen=True, slots=True)
class CarrierFailure:
    carrier: str
    operation: str
    error: str
    occurred_at: datetime
    partner_id: str
    shipment_id: str | None = None
    consecutive_failures: int = 1


def detect_carrier_failure(failure: CarrierFailure, partner: PartnerRules) -> list[Detection]:
    """A failing carrier API; the message names the partner's fallback carrier when there is one."""
    fallback = partner.fallback_carrier if partner.fallback_carrier != failure.carrier else None
    action = "switch_to_fallback_carrier" if fallback else "retry_carrier_later"
    advice = f"switch to fallback carrier {fallback}" if fallback else \
        f"no fallback carrier configured for {partner.partner_id}; retry later"
    subject = f"shipment {failure.shipment_id}" if failure.shipment_id else f"carrier {failure.carrier}"
    return [detection(
        "carrier_api_failure", subject, partner=partner.partner_id,
        severity=None if fallback else Severity.CRITICAL,
        message=f"{failure.carrier} {failure.operation} failed {failure.consecutive_failures}x "
                f"({failure.error}); {advice}",
        evidence={"carrier": failure.carrier, "operation": failure.operation, "error": failure.error,
                  "consecutive_failures": failure.consecutive_failures, "fallback_carrier": fallback,
                  "recommended_action": action, "occurred_at": failure.occurred_at.isoformat()})]


@dataclass(frozen=True, slots=True)
class FlowWindow:
    """Documents of one type from one partner in a window, against the usual count."""

    partner_id: str
    document_type: str
    window_start: datetime
    window_end: datetime
    observed: int
    expected: Decimal


def detect_flow_anomalies(windows: Sequence[FlowWindow], *, tolerance_percent: Decimal = Decimal(50),
                          min_expected: Decimal = Decimal(3)) -> list[Detection]:
    """Volumes more than ``tolerance_percent`` away from normal (silence is one level worse).
    Windows that usually see fewer than ``min_expected`` documents are too noisy to judge."""
    out = []
    for w in windows:
        if w.expected < min_expected:
            continue
        deviation = ((Decimal(w.observed) - w.expected) * 100 / w.expected).quantize(Decimal("0.1"))
        if abs(deviation) <= tolerance_percent:
            continue
        out.append(detection(
            "flow_anomaly", f"{w.document_type} from {w.partner_id}", partner=w.partner_id,
            severity=Severity.HIGH if w.observed == 0 else None,
            message=f"{w.observed} documents between {w.window_start.isoformat()} and "
                    f"{w.window_end.isoformat()}, usually {w.expected} ({deviation:+}%)",
            evidence={"observed": w.observed, "expected": w.expected, "deviation_percent": deviation,
                      "tolerance_percent": tolerance_percent}))
    return out
