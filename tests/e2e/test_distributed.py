"""Distributed mode on real RabbitMQ and PostgreSQL: ordering, shared folders, scheduler takeover, retries.

The foundation suite runs in this mode too (``hub`` fixture, ``distributed-postgres`` ids).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from hub.runtime.leader import LEASE_KEY
from hub.storage.tables import ConnectorState, Document, InboxEntry
from tests.support.cluster import Cluster
from tests.support.hubproc import HubProcess
from tests.support.receiver import Receiver
from tests.support.services import postgres_database

INBOUND = "/api/v1/inbound/ACME/purchase_order"


pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]

@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def _count(url: str, stmt: Any) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(stmt) or 0)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_per_key_ordering_under_two_workers(tmp_path: Path, pg_url: str, purchase_order: dict[str, Any]) -> None:
    """Eight orders, six revisions each, interleaved: every order's revisions reach the ERP in order."""
    receiver = Receiver().start()
    cluster = Cluster(tmp_path / "hub", database_url=pg_url, workers=2, concurrency=2)
    try:
        cluster.start(timeout=120)
        cluster.add_partner("ACME", destinations=[{"type": "http", "url": receiver.url}])
        keys, revisions = 8, 6
        for rev in range(revisions):
            for k in range(keys):
                po = purchase_order | {"po_number": f"ORD-{k}", "revision": rev,
                                       "purpose": "new" if rev == 0 else "change"}
                r = cluster.client.post(INBOUND, json=po, headers={"Prefer": "respond-async"})
                assert r.status_code == 202, r.text
        cluster.wait_for(lambda: len(receiver.requests) >= keys * revisions, timeout=120, interval=0.2)
        seen: dict[str, list[int]] = defaultdict(list)
        for request in receiver.requests:
            seen[request["body"]["po_number"]].append(int(request["body"]["revision"]))
        assert seen == {f"ORD-{k}": list(range(revisions)) for k in range(keys)}
        # and the work was shared: both worker processes ran jobs, and say so on their /metrics
        assert all('"event": "job.finished"' in w.logs() for w in cluster.workers)
        for port in cluster.metrics_ports:
            text_ = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            assert 'crossdock_stage_seconds_count{stage="map"}' in text_
    finally:
        cluster.close()
        receiver.stop()


@pytest.mark.slow
def test_two_serve_processes_polling_one_directory_take_each_file_once(
        tmp_path: Path, pg_url: str, purchase_order: dict[str, Any]) -> None:
    shared = tmp_path / "share"
    env = {"CROSSDOCK_WATCH_DIR": str(shared), "CROSSDOCK_WATCH_INTERVAL_SECONDS": "0.05",
           "CROSSDOCK_SETTLE_SECONDS": "0"}
    first = Cluster(tmp_path / "a", database_url=pg_url, env=env)
    second = HubProcess(tmp_path / "b", database_url=pg_url, env={  # a second API node, same database and folder
        k: v for k, v in first.env.items() if k.startswith("CROSSDOCK_") and k not in ("CROSSDOCK_DATA_DIR", "CROSSDOCK_PORT")})
    try:
        first.start()
        second.start()
        first.add_partner("ACME")
        folder = shared / "ACME" / "purchase_order"
        folder.mkdir(parents=True)
        n = 150
        for i in range(n):
            tmp = folder / f".po-{i}.tmp"
            tmp.write_text(json.dumps(purchase_order | {"po_number": f"DIR-{i:04d}"}))
            tmp.rename(folder / f"po-{i:04d}.json")
        first.wait_for(lambda: len(list((folder / "processed").glob("*.json"))) >= n, timeout=120, interval=0.2)
        first.wait_for(lambda: _count(pg_url, select(func.count()).select_from(Document)) >= n, timeout=120)
        time.sleep(1.0)  # anything taken twice would show up by now
        assert _count(pg_url, select(func.count()).select_from(InboxEntry)) == n  # no file stored twice
        assert _count(pg_url, select(func.count()).select_from(Document)) == n
        assert sorted(p.name for p in (folder / "processed").iterdir()) == [f"po-{i:04d}.json" for i in range(n)]
        assert not list(folder.glob("*.json")) and not list(folder.glob("*.processing"))
        took = [log.count('"event": "directory.stored"') for log in (first.logs(), second.logs())]
        assert sum(took) == n and min(took) > 0, took  # both nodes competed for the same files
    finally:
        second.close()
        first.close()


@pytest.mark.slow
def test_scheduler_killed_standby_takes_over_and_runs_due_retries(
        tmp_path: Path, pg_url: str, purchase_order: dict[str, Any]) -> None:
    receiver = Receiver()  # not started: deliveries fail and are retried
    cluster = Cluster(tmp_path / "hub", database_url=pg_url, schedulers=2,
                      env={"CROSSDOCK_RETRY_INITIAL_SECONDS": "0.5", "CROSSDOCK_RETRY_MAX_SECONDS": "1"})

    def owner() -> str | None:
        engine = create_engine(pg_url)
        try:
            with engine.connect() as conn:
                return conn.scalar(select(ConnectorState.lease_owner).where(ConnectorState.key == LEASE_KEY))
        finally:
            engine.dispose()

    try:
        cluster.start(timeout=120)
        cluster.add_partner("ACME", destinations=[{"type": "http", "url": receiver.url}])
        doc_id = cluster.client.post(INBOUND, json=purchase_order).json()["document_id"]

        def delivery() -> dict[str, Any]:
            return dict(cluster.client.get(f"/api/v1/documents/{doc_id}").json()["deliveries"][0])

        cluster.wait_for(lambda: delivery()["attempts"] >= 2)
        leader = cluster.wait_for(owner)
        pids = {str(r.proc.pid): r for r in cluster.schedulers if r.proc}
        active = pids[leader.rsplit(":", 1)[1]]
        active.kill()
        # Only a scheduler publishes due retries now: the API process is stopped.
        cluster.stop()
        standby = next(r for r in cluster.schedulers if r is not active)
        new_owner = cluster.wait_for(lambda: (o := owner()) not in (None, leader) and o, timeout=30)
        assert new_owner.endswith(f":{standby.proc.pid}")  # type: ignore[union-attr]
        assert "scheduler.leading" in standby.logs()
        receiver.start()
        engine = create_engine(pg_url)
        try:
            def delivered() -> bool:
                with engine.connect() as conn:
                    return conn.scalar(text("select status from jobs where kind = 'deliver'")) == "done"
            cluster.wait_for(delivered, timeout=60)
        finally:
            engine.dispose()
        assert len(receiver.requests) == 1
    finally:
        cluster.close()
        receiver.stop()
