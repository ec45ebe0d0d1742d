"""Carrier outcomes per lane from the hub's own documents, for ``detect_failing_lanes``.

Every tracking report a carrier sends for a shipment (a ``shipment_status`` document: an X12 214
or a polled carrier API) is one attempt of that carrier on the shipment's lane. It failed when its
latest event is an ``exception``, ``returned`` or ``cancelled`` — the events a distributor's
transport desk chases. ``delayed`` is not a failure: a late truck is the lateness detector's.

The lane is where the shipment goes from and to, read from the ship notice the report belongs to
(its tracking number, shipment id or purchase order): ``ship_from`` (else the seller) to
``ship_to`` (else the buyer). A report that matches no ship notice takes the cities of its first
and last event locations; one with neither is left out (no lane to judge it on).

Ship notices are many (every shipment has one) and the check runs every minute, so a
:class:`NoticeLanes` kept between passes reads each notice once: a pass reads the ids in the
window and decodes only the notices it has not seen yet.

Usage:
    lanes = NoticeLanes()                # kept between passes
    attempts = lane_attempts(session, since=now - timedelta(days=21), notices=lanes)
    detect_failing_lanes(attempts, now=now)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hub.ops.facts import CanonicalFacts
from hub.storage.tables import Document
from pipelines.intelligence.anomaly import CarrierAttempt

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["FAILED_EVENTS", "NoticeLanes", "lane_attempts", "lane_of_notice"]

FAILED_EVENTS = frozenset({"exception", "returned", "cancelled"})
NOTICE_LOOKBACK = timedelta(days=30)  # a shipment's tracking reports come within weeks of its ship notice


def _id(party: Any) -> str | None:
    return str(party["id"]) if isinstance(party, Mapping) and party.get("id") else None


def lane_of_notice(notice: Mapping[str, Any]) -> str | None:
    """``"WH-EAST->ACME-DC4"`` for a ship notice's canonical JSON, or None without both ends."""
    origin = _id(notice.get("ship_from")) or _id(notice.get("seller"))
    destination = _id(notice.get("ship_to")) or _id(notice.get("buyer"))
    return f"{origin}->{destination}" if origin and destination else None


def _lane_of_events(events: list[Mapping[str, Any]]) -> str | None:
    located = [e for e in sorted(events, key=lambda e: str(e.get("occurred_at", "")))
               if isinstance(e.get("location"), Mapping) and e["location"].get("city")]
    if len(located) < 2:
        return None
    first, last = located[0]["location"]["city"], located[-1]["location"]["city"]
    return f"{first}->{last}" if first != last else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _notice_refs(_kind: str, notice: Mapping[str, Any]) -> tuple[str, ...]:
    """(lane, the notice's references ...) of a ship notice; () without a lane."""
    lane = lane_of_notice(notice)
    return () if lane is None else (lane, *(
        str(ref) for ref in (notice.get("tracking_number"), notice.get("shipment_id"),
                             *(o.get("po_number") for o in notice.get("orders", []))) if ref))


class NoticeLanes(CanonicalFacts[tuple[str, ...]]):
    """The lanes of the ship notices in a window, by reference, read incrementally.

    ``lanes`` reads the ids of the notices in the window and decodes only those it has not
    read before (``hub.ops.facts``: a notice does not change once stored); notices that left
    the window are dropped. A later notice naming the same reference wins, as it did when all
    were read.
    """

    def __init__(self) -> None:
        super().__init__(lambda kind, notice: _notice_refs(kind, notice), keep_calls=1)

    def lanes(self, s: Session, *, since: datetime) -> dict[str, str]:
        """Tracking number, shipment id or PO number -> lane, for the notices stored since ``since``."""
        ids = sorted(s.scalars(select(Document.id).where(Document.document_type == "ship_notice",
                                                         Document.created_at >= since)))
        out: dict[str, str] = {}
        for facts in self.get(s, ids).values():
            lane, *refs = facts or ("",)
            for ref in refs:
                out[ref] = lane
        return out


def lane_attempts(s: Session, *, since: datetime, notices: NoticeLanes | None = None) -> list[CarrierAttempt]:
    """Every carrier report received since ``since``, as an attempt on its lane, oldest first.

    ``notices``: the ship notices read by earlier passes (a new one reads them all)."""
    statuses = list(s.execute(select(Document.canonical, Document.created_at)
                              .where(Document.document_type == "shipment_status", Document.created_at >= since,
                                     Document.direction != "outbound")
                              .order_by(Document.created_at)))
    if not statuses:  # no carrier reports: the ship notices (many) are not read at all
        return []
    lanes = (notices if notices is not None else NoticeLanes()).lanes(s, since=since - NOTICE_LOOKBACK)
    out = []
    for status, at in statuses:
        events = [e for e in status.get("events", []) if isinstance(e, Mapping)]
        carrier = status.get("carrier_scac")
        if not events or not carrier:
            continue
        refs = (status.get("tracking_number"), status.get("shipment_id"), *status.get("po_numbers", []))
        lane = next((lanes[str(r)] for r in refs if r and str(r) in lanes), None) or _lane_of_events(events)
        if lane is None:
            continue
        latest = max(events, key=lambda e: str(e.get("occurred_at", "")))
        out.append(CarrierAttempt(lane, str(carrier), _aware(at), latest.get("code") not in FAILED_EVENTS))
    return out
