"""Chaos in distributed mode: documents in flight (600 per fault in the suite; set
CROSSDOCK_CHAOS_DOCUMENTS=5000 for a longer run), then a process, the broker or the database is
taken away. Afterwards every document is in exactly one of processed / dead letter /
case, and the downstream system saw each document written once.

The broker and database restarts touch services other test runs on this machine share: each is a
few seconds, and every process here rides it out (the relay re-publishes, workers reconnect).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from hub.runtime.leader import LEASE_KEY
from tests.support.cluster import Cluster
from tests.support.hubproc import ADMIN_KEY
from tests.support.services import PG_ADMIN_DSN, free_port, require_service

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

@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database, dropped over a new connection: the restart test ends the old one."""
    name = f"crossdock_t_{uuid.uuid4().hex[:12]}"

    def admin(sql: str) -> None:
        import psycopg

        try:
            conn = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3)
        except Exception as exc:
            require_service("PostgreSQL", f"{PG_ADMIN_DSN}: {exc}")
            raise
        with conn:
            conn.execute(sql)

    admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _scalar(url: str, sql: str) -> Any:
    engine = create_engine(url, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            return conn.scalar(text(sql))
    except Exception:
        return None  # the database is restarting
    finally:
        engine.dispose()


def _send_all(cluster: Cluster, bodies: list[bytes], deadline: float) -> None:
    """Every sender retries until the hub answers 2xx: a killed API or a restarting database costs time, not documents."""
    def send(body: bytes) -> None:
        with httpx.Client(base_url=cluster.url, headers={"Authorization": f"Bearer {ADMIN_KEY}",
                                                         "Prefer": "respond-async"}, timeout=10) as client:
            while time.monotonic() < deadline:
                try:
                    if client.post(INBOUND, content=body).status_code in (200, 201, 202):
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            raise AssertionError("a document was never accepted")

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(send, bodies))


def _fault(name: str, cluster: Cluster, url: str) -> Callable[[], None]:
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
        subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
        time.sleep(2)
        subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=120)

    def postgres() -> None:
        version = next(p.name for p in Path("/etc/postgresql").iterdir())
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True,
                       capture_output=True, timeout=120)

    return {"worker": worker, "api": api, "scheduler": scheduler, "rabbitmq": rabbitmq, "postgres": postgres}[name]


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["worker", "api", "scheduler", "rabbitmq", "postgres"])
def test_nothing_lost_nothing_doubled(tmp_path: Path, pg_url: str, purchase_order: dict[str, Any], fault: str) -> None:
    erp = Erp()
    cluster = Cluster(tmp_path / "hub", database_url=pg_url, workers=2, concurrency=2,
                      schedulers=2 if fault == "scheduler" else 1)
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
        _fault(fault, cluster, pg_url)()
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


def _scalar_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql)).all()]
    finally:
        engine.dispose()
