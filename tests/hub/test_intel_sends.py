"""A partner whose system is down refuses what the hub sends it, through the hub's own sender
and tables (SQLite and PostgreSQL): interchanges queued over the morning fail over AS2 against a
closed port, ``send_points`` counts them, and one flow anomaly case opens; a single failed send
among those taken opens none."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.app import Hub
from hub.edi.sender import EdiSender
from hub.intel.flows import FlowWatch
from hub.intel.sends import send_points
from hub.settings import Settings
from hub.storage.edi_tables import EdiOutbound
from hub.storage.tables import Case, Partner, utcnow
from pipelines.retry import RetryPolicy

RAW = b"ISA*00*          *00*          *ZZ*CROSSDOCK      *ZZ*ACME           *~"
PROFILE = {"id": "ACME",
           "edi": {"standard": "x12", "interchange_id": "ACME", "our_interchange_id": "CROSSDOCK",
                   "transport": "as2", "expects_ack": False},
           # nothing listens on port 9 here: connection refused, as from a partner whose system is down
           "as2": {"as2_id": "ACME", "our_as2_id": "CROSSDOCK", "url": "http://127.0.0.1:9/as2",
                   "connect_timeout_s": 2, "timeout_s": 5}}


@pytest.fixture
def hub(database_url: str, tmp_path: Path) -> Any:
    hub = Hub(Settings(data_dir=tmp_path, database_url=database_url, watch_dir=Path("")))
    with hub.db.session() as s:
        s.add(Partner(id="ACME", name="Acme Retail", role="customer", profile=PROFILE))
    yield hub
    hub.db.dispose()


def _row(n: int, at: datetime, status: str, **fields: Any) -> EdiOutbound:
    return EdiOutbound(**{"partner_id": "ACME", "standard": "x12", "set_id": "855", "po_number": f"PO-{n}",
                          "interchange_control": f"{n:09d}", "raw": RAW, "status": status, "created_at": at,
                          "next_attempt_at": at, **fields})


def _history(hub: Hub, hour: datetime) -> None:
    """Fourteen days of 3 sends an hour 08:00-18:00 (UTC) before today, taken as the sender
    leaves them; one in 140 failed."""
    n = 0
    with hub.db.session() as s:
        for day in range(1, 15):
            for h in range(8, 18):
                for i in range(3):
                    n += 1
                    at = hour.replace(hour=h) - timedelta(days=day) + timedelta(minutes=10 * i)
                    failed = n % 140 == 0
                    s.add(_row(n, at, "failed" if failed else "sent", attempts=8 if failed else 1,
                               sent_at=None if failed else at, last_error="connection refused" if failed else None))


def _queue(hub: Hub, hour: datetime, hours: int, *, per_hour: int = 3) -> None:
    """This morning's sends, queued over the ``hours`` hours before ``hour``."""
    with hub.db.session() as s:
        for h in range(hours, 0, -1):
            for i in range(per_hour):
                s.add(_row(10_000 + h * 10 + i, hour - timedelta(hours=h, minutes=-10 * i), "queued",
                           po_number=f"TODAY-{h}-{i}"))


def _send_all(hub: Hub) -> None:
    """The sender's polls until nothing is due: with one try, each refused send fails at once."""
    sender = EdiSender(hub.db, policy=RetryPolicy(max_attempts=1))
    for _ in range(40):
        sender.poll()
        with hub.db.reader() as s:
            if not s.scalar(select(EdiOutbound.id).where(EdiOutbound.status == "queued").limit(1)):
                return


def _flow_cases(hub: Hub) -> list[tuple[str | None, str]]:
    with hub.db.reader() as s:
        return [(c.partner_id, c.summary) for c in s.scalars(select(Case).where(Case.type == "flow_anomaly"))]


def test_a_partner_refusing_our_sends_all_morning_opens_one_case(hub: Hub) -> None:
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    _history(hub, hour)
    _queue(hub, hour, 5)
    _send_all(hub)
    with hub.db.reader() as s:
        statuses = list(s.scalars(select(EdiOutbound.status).where(EdiOutbound.po_number.like("TODAY-%"))))
        points = [p for p in send_points(s, since=hour - timedelta(hours=5), dialect=hub.db.engine.dialect.name)
                  if p.hour >= hour - timedelta(hours=5)]
    assert statuses == ["failed"] * 15
    assert [(p.sent, p.failed) for p in points] == [(3, 3)] * 5

    watch = FlowWatch(hub.db, hub.processor.context.refdata)
    assert watch.run(now=hour) == 1
    assert watch.run(now=hour + timedelta(minutes=10)) == 0  # the same alert, once
    [(partner, summary)] = _flow_cases(hub)
    assert partner == "ACME"
    assert summary.startswith("sends to ACME: ACME refused 15 of 15 of our sends since "), summary
    usual = re.search(r"\(normally 1 in (\d+) fails\): its system looks down$", summary)
    assert usual and 100 <= int(usual[1]) <= 160, summary  # one in 140, over the days before the last one


def test_one_refused_send_among_those_taken_opens_no_case(hub: Hub) -> None:
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    _history(hub, hour)
    _queue(hub, hour, 1, per_hour=1)  # the one send the partner refused (its server restarting)
    _send_all(hub)
    with hub.db.session() as s:  # and the rest of the morning, taken
        for h in range(5, 1, -1):
            for i in range(3):
                at = hour - timedelta(hours=h, minutes=-10 * i)
                s.add(_row(20_000 + h * 10 + i, at, "sent", attempts=1, sent_at=at))
    assert FlowWatch(hub.db, hub.processor.context.refdata).run(now=hour) == 0
    assert _flow_cases(hub) == []
