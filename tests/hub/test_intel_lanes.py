"""A lane whose carrier keeps failing, from the hub's own carrier reports (SQLite and PostgreSQL):
tracking reports matched to their ship notices' lanes, one flow anomaly case for a failing lane,
none for a normal day or a one-hour blip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.intel import lanes as lanes_module
from hub.intel.flows import FlowWatch
from hub.intel.lanes import NoticeLanes, lane_attempts, lane_of_notice
from hub.ops.refdata import DbReferenceData
from hub.storage.db import Database
from hub.storage.tables import Case, Document

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # a Monday afternoon: the window is 12:00-15:00
TIMES = range(175, 0, -12)  # minutes before NOW: 15 reports over the last three hours


def _notice(n: int, tracking: str) -> dict[str, Any]:
    return {"shipment_id": f"SH{n}", "tracking_number": tracking, "seller": {"id": "CROSSDOCK"},
            "ship_from": {"id": "WH-EAST"}, "ship_to": {"id": "ACME-DC4"}, "orders": [{"po_number": f"PO{n}"}]}


def _status(tracking: str, code: str, at: datetime) -> dict[str, Any]:
    return {"carrier_scac": "UPSN", "tracking_number": tracking,
            "events": [{"code": "picked_up", "occurred_at": (at - timedelta(hours=5)).isoformat()},
                       {"code": code, "occurred_at": at.isoformat()}]}


def _seed(db: Database, today: list[tuple[int, str]]) -> None:
    """Three weeks of 12 reports a day (one exception every other day), then ``today``:
    (minutes before NOW, event code) per report."""
    n = 0
    with db.session() as s:
        def add(at: datetime, code: str) -> None:
            nonlocal n
            n += 1
            tracking = f"1Z{n:08d}"
            s.add(Document(partner_id="CROSSDOCK", document_type="ship_notice", idempotency_key=f"sn{n}",
                           business_key=f"CROSSDOCK/SH{n}", revision="0", direction="outbound", status="sent",
                           canonical=_notice(n, tracking), created_at=at - timedelta(hours=6)))
            s.add(Document(partner_id="UPSN", document_type="shipment_status", idempotency_key=f"st{n}",
                           business_key=f"UPSN/{tracking}", revision="0", direction="inbound", status="accepted",
                           canonical=_status(tracking, code, at), created_at=at))

        for day in range(21, 0, -1):
            for i in range(12):
                at = NOW - timedelta(days=day) + timedelta(minutes=50 * i - 300)
                add(at, "exception" if i == 5 and day % 2 else "in_transit")
        for minutes, code in today:
            add(NOW - timedelta(minutes=minutes), code)


def _lane_cases(db: Database) -> list[tuple[str | None, str]]:
    """(partner, summary) of each flow anomaly case about a lane."""
    with db.reader() as s:
        return [(c.partner_id, c.summary) for c in s.scalars(select(Case).where(Case.type == "flow_anomaly"))
                if "lane" in c.summary]


def test_lane_of_a_notice_and_reports_matched_to_it(db: Database) -> None:
    assert lane_of_notice(_notice(1, "T")) == "WH-EAST->ACME-DC4"
    assert lane_of_notice({"seller": {"id": "S"}, "buyer": {"id": "B"}}) == "S->B"
    assert lane_of_notice({"seller": {"id": "S"}}) is None
    _seed(db, [(30, "exception")])
    with db.reader() as s:
        attempts = lane_attempts(s, since=NOW - timedelta(days=30))
        assert lane_attempts(s, since=NOW - timedelta(minutes=40)) == attempts[-1:]
    assert len(attempts) == 21 * 12 + 1 and {(a.lane, a.carrier) for a in attempts} == {("WH-EAST->ACME-DC4", "UPSN")}
    assert sum(not a.ok for a in attempts) == 11 + 1 and not attempts[-1].ok


def test_a_carrier_failing_for_hours_on_a_lane_opens_one_case(db: Database) -> None:
    # two reports in three are exceptions, in each of the last three hours
    _seed(db, [(m, "exception" if i % 3 else "delivered") for i, m in enumerate(TIMES)])
    watch = FlowWatch(db, DbReferenceData(db))
    assert watch.run(now=NOW) >= 1
    assert watch.run(now=NOW + timedelta(minutes=10)) == 0  # the same alert, once
    [(partner, summary)] = _lane_cases(db)
    assert partner == "UPSN"
    assert "UPSN failed 10 of 15 attempts on lane WH-EAST->ACME-DC4" in summary


def test_a_normal_day_opens_no_lane_case(db: Database) -> None:
    _seed(db, [(m, "exception" if m == 103 else "in_transit") for m in TIMES])
    FlowWatch(db, DbReferenceData(db)).run(now=NOW)
    assert _lane_cases(db) == []


def test_a_one_hour_blip_opens_no_lane_case(db: Database) -> None:
    # six exceptions, all between 14:00 and 15:00: one bad hour, not a carrier that keeps failing
    _seed(db, [(m, "in_transit") for m in TIMES] + [(m, "exception") for m in (58, 50, 42, 34, 26, 18)])
    FlowWatch(db, DbReferenceData(db)).run(now=NOW)
    assert _lane_cases(db) == []


def test_the_notices_are_read_once_each_across_passes(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass every minute over weeks of ship notices: each notice is decoded once, a new one is
    picked up, one that left the window is dropped, and the lanes are those a full read gives."""
    _seed(db, [(30, "exception")])
    read: list[str] = []
    real = lanes_module.lane_of_notice
    monkeypatch.setattr(lanes_module, "lane_of_notice", lambda notice: read.append(notice["shipment_id"]) or real(notice))
    notices = NoticeLanes()
    with db.reader() as s:
        first = lane_attempts(s, since=NOW - timedelta(days=30), notices=notices)
    assert len(read) == 21 * 12 + 1 and len(set(read)) == len(read)
    with db.session() as s:  # a notice for a new shipment, with a report of it on another lane
        s.add(Document(partner_id="CROSSDOCK", document_type="ship_notice", idempotency_key="sn-new",
                       business_key="CROSSDOCK/SH-NEW", revision="0", direction="outbound", status="sent",
                       canonical={"shipment_id": "SH-NEW", "tracking_number": "1ZNEW", "ship_from": {"id": "WH-WEST"},
                                  "ship_to": {"id": "ACME-DC9"}, "orders": [{"po_number": "PO-NEW"}]},
                       created_at=NOW - timedelta(minutes=20)))
        s.add(Document(partner_id="UPSN", document_type="shipment_status", idempotency_key="st-new",
                       business_key="UPSN/1ZNEW", revision="0", direction="inbound", status="accepted",
                       canonical=_status("1ZNEW", "in_transit", NOW - timedelta(minutes=10)),
                       created_at=NOW - timedelta(minutes=10)))
    read.clear()
    with db.reader() as s:
        second = lane_attempts(s, since=NOW - timedelta(days=30), notices=notices)
        assert read == ["SH-NEW"]  # only the new notice was decoded
        assert second == lane_attempts(s, since=NOW - timedelta(days=30))  # as a full read finds them
        assert second[:-1] == first and second[-1].lane == "WH-WEST->ACME-DC9"
        read.clear()
        recent = notices.lanes(s, since=NOW - timedelta(days=10))  # the notices of the last ten days only
        assert read == [] and recent == NoticeLanes().lanes(s, since=NOW - timedelta(days=10))
    assert "SH-NEW" in recent and "SH1" not in recent and len(notices._known) < 12 * 11
