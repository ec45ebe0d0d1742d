"""A partner resending what it already sent, through the hub's own pipeline (SQLite and
PostgreSQL): orders posted again with the same idempotency key are recorded as resends, the same
bytes again count as the documents they repeat, and a storm of resends opens one flow anomaly
case; the resends of an ordinary day open none."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.base import Receipt
from hub.app import Hub
from hub.intel.flows import FlowWatch, flow_points
from hub.settings import Settings
from hub.storage.tables import Case, Document, Job, Partner, Resend, utcnow


@pytest.fixture
def hub(database_url: str, tmp_path: Path) -> Any:
    """The hub's inbox and processor in this process (not started: jobs run when ``post`` says)."""
    hub = Hub(Settings(data_dir=tmp_path, database_url=database_url, watch_dir=Path("")))
    with hub.db.session() as s:
        s.add(Partner(id="ACME", name="Acme Retail", role="customer", profile={"id": "ACME"}))
    yield hub
    hub.db.dispose()


def _order(po: str, purchase_order: dict[str, Any], *, indent: int | None = None) -> bytes:
    """The example order as ``po``; an ``indent`` changes the bytes, not the idempotency key."""
    return json.dumps({**purchase_order, "po_number": po}, indent=indent).encode()


def post(hub: Hub, raw: bytes) -> None:
    """Store a payload as the HTTP inbound route does and run what it queued."""
    hub.inbox.store(Receipt(partner_id="ACME", channel="http", document_type="purchase_order",
                            content_type="application/json"), raw)
    with hub.db.reader() as s:
        due = list(s.scalars(select(Job.id).where(Job.status.in_(("queued", "retrying"))).order_by(Job.id)))
    for job_id in due:
        hub.processor.process(job_id)


def _history(hub: Hub, now: datetime) -> None:
    """Six weeks of 10 orders an hour over the 12 hours before this one (and this hour in the
    earlier weeks), one in a hundred resent."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    n = 0
    with hub.db.session() as s:
        for week in range(7):
            for h in range(-12, 1 if week else 0):
                for i in range(10):
                    n += 1
                    at = hour - timedelta(weeks=week, hours=-h) + timedelta(minutes=5 * i)
                    doc = Document(partner_id="ACME", document_type="purchase_order", idempotency_key=f"h{n}",
                                   business_key=f"ACME/H{n}", canonical={"po_number": f"H{n}"}, created_at=at)
                    s.add(doc)
                    if n % 100 == 0:
                        s.flush()
                        s.add(Resend(document_id=doc.id, partner_id="ACME", document_type="purchase_order",
                                     created_at=at))


def _flow_cases(hub: Hub) -> list[tuple[str | None, str]]:
    """(partner, summary) of each flow anomaly case."""
    with hub.db.reader() as s:
        return [(c.partner_id, c.summary) for c in s.scalars(select(Case).where(Case.type == "flow_anomaly"))]


def test_a_storm_of_resends_opens_one_flow_anomaly_case(hub: Hub, purchase_order: dict[str, Any]) -> None:
    now = utcnow()
    _history(hub, now)
    for k in range(10):  # this hour's orders, as usual ...
        post(hub, _order(f"PO-{k}", purchase_order))
    for again in (1, 2, 3):  # ... each sent three times more, the bytes a little different
        for k in range(10):
            post(hub, _order(f"PO-{k}", purchase_order, indent=again))
    post(hub, _order("PO-0", purchase_order))  # the same bytes again: a transport replay
    with hub.db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Resend).where(Resend.inbox_id.is_not(None))) == 30
        assert s.scalar(select(func.count()).select_from(Document).where(Document.business_key.like("ACME/PO-%"))) == 10
        [point] = [p for p in flow_points(s, since=now - timedelta(minutes=90), dialect=hub.db.engine.dialect.name)
                   if p.document_type == "850" and p.hour == now.replace(minute=0, second=0, microsecond=0)]
    assert (point.received, point.duplicates) == (10, 31)

    watch = FlowWatch(hub.db, hub.processor.context.refdata)
    later = now + timedelta(hours=1)
    assert watch.run(now=later) == 1
    assert watch.run(now=later + timedelta(minutes=10)) == 0  # the same alert, once
    [(partner, summary)] = _flow_cases(hub)
    assert partner == "ACME"
    assert "ACME resent 31 orders it had already sent between" in summary
    usual = re.search(r"\(31 of 41\); normally 1 in (\d+) orders is a resend$", summary)
    assert usual and 90 <= int(usual[1]) <= 101, summary  # one in a hundred, counted over the weeks before


def test_an_ordinary_hour_with_a_resend_or_two_opens_no_case(hub: Hub, purchase_order: dict[str, Any]) -> None:
    now = utcnow()
    _history(hub, now)
    for k in range(10):
        post(hub, _order(f"PO-{k}", purchase_order))
    post(hub, _order("PO-3", purchase_order, indent=2))  # resent after a timeout
    post(hub, _order("PO-3", purchase_order))  # and the same bytes again
    assert FlowWatch(hub.db, hub.processor.context.refdata).run(now=now + timedelta(hours=1)) == 0
    assert _flow_cases(hub) == []
