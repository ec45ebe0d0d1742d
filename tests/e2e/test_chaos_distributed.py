"""Chaos in distributed mode: documents in flight (600 per fault in the suite; set
CROSSDOCK_CHAOS_DOCUMENTS=5000 for a longer run), then a process, the broker or the database is
taken away. Afterwards every document is in exactly one of processed / dead letter /
case, and the downstream system saw each document written once.

The broker and database restarts happen to a RabbitMQ node and a PostgreSQL server of the test's
own (``tests.support.private_services``), so the rest of the suite runs beside them; every process
here rides the restart out (the relay re-publishes, workers reconnect).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from hub.runtime.leader import LEASE_KEY
from hub.storage.migrate import upgrade
from tests.support.cluster import BROKER_URL, Cluster
from tests.support.hubproc import ADMIN_KEY
from tests.support.private_services import PrivatePostgres, PrivateRabbitMQ
from tests.support.services import free_port, postgres_database

N = int(os.environ.get("CROSSDOCK_CHAOS_DOCUMENTS", "600"))
INBOUND = "/api/v1/inbound/ACME/purchase_order"


class Erp:
    """A downstream system that honours Idempotency-Key, as the ERP gateway's look-up-before-create does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/orders"
        self.written: dict[str, str] = {}  # idempotency key -> PO number
        self.requests = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                with outer.lock:
                    outer.requests += 1
                    outer.written.setdefault(self.headers["idempotency-key"], body["po_number"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


pytestmark = [pytest.mark.postgres, pytest.mark.rabbitmq]

class Services:
    """Where the cluster's database and broker are, and how to restart them."""

    def __init__(self, url: str, broker_url: str, postgres: PrivatePostgres | None = None,
                 rabbitmq: PrivateRabbitMQ | None = None) -> None:
        self.url, self.broker_url, self.postgres, self.rabbitmq = url, broker_url, postgres, rabbitmq


@pytest.fixture
def services(fault: str) -> Iterator[Services]:
    """The shared services, except a private server for the fault that restarts it."""
    if fault == "postgres":
        with PrivatePostgres() as pg:
            url = pg.create_database()
            upgrade(url)
            yield Services(url, BROKER_URL, postgres=pg)
    elif fault == "rabbitmq":
        with PrivateRabbitMQ() as mq, postgres_database() as url:
            yield Services(url, mq.url, rabbitmq=mq)
    else:
        with postgres_database() as url:
            yield Services(url, BROKER_URL)


_engines: dict[str, Any] = {}


def _engine(url: str) -> Any:
    """One engine per database for the polls (a new engine per poll costs more than the query)."""
    if url not in _engines:
        _engines[url] = create_engine(url, pool_pre_ping=True, pool_size=2)
    return _engines[url]


def _scalar(url: str, sql: str) -> Any:
    try:
        with _engine(url).connect() as conn:
            return conn.scalar(text(sql))
    except Exception:
        return None  # the database is restarting


def _send_all(cluster: Cluster, bodies: list[bytes], deadline: float) -> None:
    """Every sender retries until the hub answers 2xx: a killed API or a restarting database costs time, not documents."""
    local = threading.local()  # one client per sender thread (a client per document costs ~40 ms of CPU)
    clients: list[httpx.Client] = []

    def send(body: bytes) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=cluster.url, headers={"Authorization": f"Bearer {ADMIN_KEY}",
                                                                      "Prefer": "respond-async"}, timeout=10)
            clients.append(local.client)
        while time.monotonic() < deadline:
            try:
                if local.client.post(INBOUND, content=body).status_code in (200, 201, 202):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("a document was never accepted")

    try:
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(send, bodies))
    finally:
        for client in clients:
            client.close()


def _fault(name: str, cluster: Cluster, services: Services) -> Callable[[], None]:
    url = services.url

    def worker() -> None:
        victim = cluster.workers[0]
        victim.kill()  # mid-stage: both workers are busy at this point
        time.sleep(1)
        victim.start()

    def api() -> None:
        cluster.kill()  # mid-request: the senders are posting
        time.sleep(1)
        cluster.start(timeout=120)

    def scheduler() -> None:
        owner = _scalar(url, f"select lease_owner from connector_state where key = '{LEASE_KEY}'")
        leader = next(r for r in cluster.schedulers if r.proc and owner.endswith(f":{r.proc.pid}"))
        leader.kill()
        cluster.wait_for(lambda: _scalar(url, f"select lease_owner from connector_state where key = '{LEASE_KEY}'")
                         not in (None, owner), timeout=30)

    def rabbitmq() -> None:
        assert services.rabbitmq is not None
        services.rabbitmq.restart()

    def postgres() -> None:
        assert services.postgres is not None
        services.postgres.restart()

    return {"worker": worker, "api": api, "scheduler": scheduler, "rabbitmq": rabbitmq, "postgres": postgres}[name]


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["worker", "api", "scheduler", "rabbitmq", "postgres"])
def test_nothing_lost_nothing_doubled(tmp_path: Path, services: Services, purchase_order: dict[str, Any],
                                      fault: str) -> None:
    pg_url = services.url
    erp = Erp()
    cluster = Cluster(tmp_path / "hub", database_url=pg_url, workers=2, concurrency=2,
                      schedulers=2 if fault == "scheduler" else 1, broker_url=services.broker_url)
    try:
        cluster.start(timeout=120)
        cluster.add_partner("ACME", destinations=[{"type": "http", "url": erp.url}])
        bodies = [json.dumps(purchase_order | {"po_number": f"CH-{i:05d}"}).encode() for i in range(N)]
        deadline = time.monotonic() + 420
        sender = threading.Thread(target=_send_all, args=(cluster, bodies, deadline))
        sender.start()
        cluster.wait_for(lambda: (_scalar(pg_url, "select count(*) from documents") or 0) >= N // 5,
                         timeout=180, interval=0.1)
        in_flight = _scalar(pg_url, "select count(*) from jobs where status in ('queued', 'retrying')")
        _fault(fault, cluster, services)()
        sender.join()
        assert in_flight and in_flight > 0  # the fault hit work in flight

        def settled() -> bool:
            open_jobs = _scalar(pg_url, "select count(*) from jobs where status in ('queued', 'retrying')")
            return open_jobs == 0 and len(erp.written) >= N
        cluster.wait_for(settled, timeout=420, interval=0.5)

        outcomes = dict(_scalar_rows(pg_url, "select status, count(*) from inbox where duplicate_of is null group by status"))
        assert outcomes == {"processed": N}, outcomes  # each exactly once: not failed, not a case, not pending
        assert _scalar(pg_url, "select count(*) from dead_letters") == 0
        assert _scalar(pg_url, "select count(*) from cases") == 0
        assert _scalar(pg_url, "select count(*) from documents") == N
        assert _scalar(pg_url, "select count(distinct business_key) from documents") == N
        assert sorted(erp.written.values()) == [f"CH-{i:05d}" for i in range(N)]  # each written once downstream
        print(f"fault={fault}: {erp.requests - N} repeated deliveries absorbed by the idempotency key")
    finally:
        cluster.close()
        erp.stop()
        if pg_url in _engines:
            _engines.pop(pg_url).dispose()


def _scalar_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with _engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql)).all()]
