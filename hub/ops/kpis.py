"""Case KPIs: exception cycle time, first-pass resolution, backlog by age, automation shares;
overall, by partner and by type. The API serves them as JSON; ``KpiCollector`` serves the
same numbers to Prometheus at scrape time (true across processes and restarts).

Definitions:
* cycle time: hours from opening to closing, over closed cases;
* first-pass resolution rate: closed cases closed by the first person to own them (at most
  one assignment, not rejected) or by a policy, over closed cases;
* auto-routed: cases whose owner queue came from the taxonomy and was never reassigned;
* auto-resolved: cases a policy resolved on arrival.

Usage:
    with db.reader() as s: compute(s)["overall"]["backlog_by_age"]
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.ops.cases import CLOSED
from hub.storage.db import Database
from hub.storage.ops_tables import CaseEvent
from hub.storage.tables import Case, utcnow

__all__ = ["BUCKETS", "KpiCollector", "compute"]

BUCKETS = (("lt_1h", 1.0), ("1h_4h", 4.0), ("4h_24h", 24.0), ("1d_3d", 72.0), ("gt_3d", float("inf")))


def _bucket(hours: float) -> str:
    return next(name for name, limit in BUCKETS if hours < limit)


def _summary(cases: list[tuple[Case, int]], now: datetime) -> dict[str, Any]:
    closed = [(c, n) for c, n in cases if c.status in CLOSED]
    cycles = [(c.resolved_at - c.created_at).total_seconds() / 3600 for c, _ in closed if c.resolved_at]
    first_pass = [c for c, n in closed if c.status != "rejected" and n <= 1]
    backlog = Counter(_bucket((now - c.created_at).total_seconds() / 3600) for c, _ in cases
                      if c.status not in CLOSED)
    total = len(cases)
    return {
        "cases": total, "open": total - len(closed), "closed": len(closed),
        "cycle_time_hours": {"mean": round(sum(cycles) / len(cycles), 3) if cycles else None,
                             "max": round(max(cycles), 3) if cycles else None},
        "first_pass_resolution_rate": round(len(first_pass) / len(closed), 4) if closed else None,
        "auto_routed_share": round(sum(1 for _, n in cases if n == 0) / total, 4) if total else None,
        "auto_resolved_share": round(sum(1 for c, _ in cases if c.status == "auto_resolved") / total, 4)
        if total else None,
        "backlog_by_age": {name: backlog.get(name, 0) for name, _ in BUCKETS},
    }


def compute(s: Session, *, partner_id: str | None = None, since: datetime | None = None) -> dict[str, Any]:
    stmt = select(Case)
    if partner_id:
        stmt = stmt.where(Case.partner_id == partner_id)
    if since:
        stmt = stmt.where(Case.created_at >= since)
    cases = list(s.scalars(stmt))
    assigns = dict(s.execute(select(CaseEvent.case_id, func.count()).where(CaseEvent.action == "assign")
                             .group_by(CaseEvent.case_id)).all())
    rows = [(c, int(assigns.get(c.id, 0))) for c in cases]
    now = utcnow()
    by_partner: dict[str, list[tuple[Case, int]]] = defaultdict(list)
    by_type: dict[str, list[tuple[Case, int]]] = defaultdict(list)
    for c, n in rows:
        by_partner[c.partner_id or "-"].append((c, n))
        by_type[c.type].append((c, n))
    return {"at": now.isoformat(), "overall": _summary(rows, now),
            "by_partner": {k: _summary(v, now) for k, v in sorted(by_partner.items())},
            "by_type": {k: _summary(v, now) for k, v in sorted(by_type.items())}}


class KpiCollector(Collector):
    """``crossdock_case_*`` gauges, labelled by partner and type."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Any]:
        with self.db.reader() as s:
            k = compute(s)
        labels = ["partner", "type"]
        cycle = GaugeMetricFamily("crossdock_case_cycle_time_hours", "Mean hours from opening to closing a case",
                                  labels=["group", "name"])
        first = GaugeMetricFamily("crossdock_case_first_pass_ratio", "Closed cases closed on the first pass",
                                  labels=["group", "name"])
        auto = GaugeMetricFamily("crossdock_case_auto_resolved_ratio", "Cases a policy resolved on arrival",
                                 labels=["group", "name"])
        routed = GaugeMetricFamily("crossdock_case_auto_routed_ratio", "Cases routed by the taxonomy alone",
                                   labels=["group", "name"])
        backlog = GaugeMetricFamily("crossdock_case_backlog", "Open cases by age bucket", labels=["age"])
        for group, label in (("by_partner", labels[0]), ("by_type", labels[1])):
            for name, summary in k[group].items():
                for family, value in ((cycle, summary["cycle_time_hours"]["mean"]),
                                      (first, summary["first_pass_resolution_rate"]),
                                      (auto, summary["auto_resolved_share"]), (routed, summary["auto_routed_share"])):
                    if value is not None:
                        family.add_metric([label, name], value)
        for bucket, count in k["overall"]["backlog_by_age"].items():
            backlog.add_metric([bucket], count)
        yield from (cycle, first, auto, routed, backlog)
