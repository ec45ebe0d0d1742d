"""End-to-end throughput, embedded vs distributed (1 and 2 workers), as a ratio to this machine's raw limits.

In one run: (1) the raw limits — RabbitMQ publish-with-confirm and consume+ack rates on a
quorum queue, PostgreSQL single-row transactional insert rate; (2) the embedded default
(SQLite) and distributed mode (PostgreSQL + RabbitMQ, 1 and 2 workers) taking N purchase
orders over HTTP (``Prefer: respond-async``) through decode → map → validate → dedupe →
stored document: by default X12 850 interchanges to ``POST /api/v1/inbound/edi``, each also
answered with a 997 in the partner's outbox (``--format json``: JSON purchase orders).
Reports documents/s, receipt→processed latency p50/p99 (database timestamps), peak RSS of
every process, and distributed throughput as a fraction of the raw bound min(broker rate,
PostgreSQL rate / 3) — a document costs about three write transactions (receipt+job,
publish mark, outcome).

Reproduce:
    .venv/bin/python benchmarks/bench_distributed.py --documents 3000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.e2e_payloads import FORMATS, Payloads  # noqa: E402
from tests.support.cluster import BROKER_URL, Cluster  # noqa: E402
from tests.support.hubproc import ADMIN_KEY, HubProcess  # noqa: E402
from tests.support.services import postgres_database  # noqa: E402


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def service_cpu() -> dict[str, float]:
    """CPU seconds so far of this machine's PostgreSQL and RabbitMQ (every process of each)."""
    out = {"postgresql": 0.0, "rabbitmq": 0.0}
    for stat in Path("/proc").glob("[0-9]*/comm"):
        try:
            name = stat.read_text().strip()
        except OSError:
            continue
        key = "postgresql" if name == "postgres" else "rabbitmq" if name == "beam.smp" else None
        if key:
            out[key] += cpu_seconds(int(stat.parent.name))
    return out


def raw_broker(n: int) -> dict[str, float]:
    from kombu import Connection, Exchange, Queue

    name = f"cdk-bench-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name, durable=True,
                  queue_arguments={"x-queue-type": "quorum"})
    with Connection(BROKER_URL, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        started = time.perf_counter()
        for i in range(n):
            producer.publish({"job_id": i}, exchange=queue.exchange, routing_key=name, declare=[queue],
                             delivery_mode=2, serializer="json")
        published = time.perf_counter() - started
        got = 0
        done = threading.Event()

        def on_message(body: Any, message: Any) -> None:
            nonlocal got
            message.ack()
            got += 1
            if got >= n:
                done.set()

        with conn.Consumer(queue, callbacks=[on_message], prefetch_count=1):
            started = time.perf_counter()
            while not done.is_set():
                conn.drain_events(timeout=10)
            consumed = time.perf_counter() - started
        queue.bind(conn.default_channel).delete()
        conn.default_channel.exchange_delete(name)
    return {"publish_confirm_per_s": round(n / published), "consume_ack_prefetch1_per_s": round(n / consumed)}


def raw_postgres(url: str, n: int) -> dict[str, float]:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("create table bench_tx (id bigserial primary key, payload jsonb, at timestamptz default now())"))
    started = time.perf_counter()
    with engine.connect() as conn:
        for i in range(n):
            conn.execute(text("insert into bench_tx (payload) values (:p)"), {"p": json.dumps({"i": i})})
            conn.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return {"insert_commit_per_s": round(n / elapsed)}


def _seconds(value: Any) -> float:
    return value.timestamp() if hasattr(value, "timestamp") else datetime.fromisoformat(str(value)).timestamp()


def run_hub(hub: HubProcess, url: str, load: Payloads, senders: int) -> dict[str, Any]:
    bodies = load.bodies
    hub.start(timeout=180)
    try:
        load.setup(hub)
        clients = [httpx.Client(base_url=hub.url, timeout=60, headers={"Authorization": f"Bearer {ADMIN_KEY}",
                                                                        "Prefer": "respond-async"}) for _ in range(senders)]
        procs = {"serve": hub.proc}
        if isinstance(hub, Cluster):
            procs |= {r.name: r.proc for r in (*hub.workers, *hub.schedulers)}
        cpu_before = {name: cpu_seconds(p.pid) for name, p in procs.items() if p is not None}
        services_before, sender_before = service_cpu(), time.process_time()
        started = time.perf_counter()
        with ThreadPoolExecutor(senders) as pool:
            codes = list(pool.map(lambda i: clients[i % senders].post(
                load.path, content=bodies[i]).status_code, range(len(bodies))))
        sent = time.perf_counter()
        assert all(c == 202 for c in codes), {c: codes.count(c) for c in set(codes)}
        engine = create_engine(url)
        while True:
            with engine.connect() as conn:
                if load.done(conn):
                    break
            time.sleep(0.05)
        finished = time.perf_counter()
        # CPU milliseconds per document, every process that worked on them (the sender included)
        cpu = {name: (cpu_seconds(p.pid) - cpu_before[name]) * 1000 / load.count
               for name, p in procs.items() if p is not None and name in cpu_before}
        cpu |= {name: (v - services_before[name]) * 1000 / load.count for name, v in service_cpu().items()}
        cpu["sender"] = (time.process_time() - sender_before) * 1000 / load.count
        with engine.connect() as conn:
            rows = conn.execute(text("select d.created_at, i.received_at from documents d "
                                     "join inbox i on i.id = d.inbox_id")).all()
        engine.dispose()
        rss = {name: peak_rss_mb(p.pid) for name, p in procs.items() if p is not None}
    finally:
        hub.close()
    latencies = sorted(_seconds(c) - _seconds(r) for c, r in rows)
    return {"intake_docs_per_s": round(load.count / (sent - started), 1),
            "docs_per_s": round(load.count / (finished - started), 1),
            # a message is one HTTP request, one job, one publish: an interchange (of --sets 850s)
            "messages_per_s": round(len(bodies) / (finished - started), 1),
            "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
            "latency_p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1),
            "peak_rss_mb": rss,
            "cpu_ms_per_doc": {k: round(v, 2) for k, v in cpu.items()} | {"total": round(sum(cpu.values()), 2)}}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--documents", type=int, default=3000)
    ap.add_argument("--senders", type=int, default=8)
    ap.add_argument("--raw", type=int, default=5000, help="messages / inserts for the raw limits")
    ap.add_argument("--format", choices=FORMATS, default="x12",
                    help="x12: 20-line 850s to POST /api/v1/inbound/edi (a 997 each); json: JSON purchase orders")
    ap.add_argument("--partners", type=int, default=1,
                    help="x12: interchanges from this many partners, interleaved (one partner's are read in order)")
    ap.add_argument("--sets", type=int, default=1,
                    help="x12: 850s per interchange (one functional group, one 997); --documents counts the 850s")
    ap.add_argument("--runs", default="embedded,1,2",
                    help="which runs, comma-separated: embedded, and numbers of distributed workers")
    args = ap.parse_args()
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    result: dict[str, Any] = {"benchmark": f"e2e_distributed_{Payloads(args.format, 0, tag='', partners=args.partners, sets=args.sets).name}",
                              "documents": args.documents,
                              "senders": args.senders, "cpus": os.cpu_count(),
                              "load_average_at_start": os.getloadavg()}
    result["raw"] = raw_broker(args.raw)
    with postgres_database() as url:
        result["raw"] |= raw_postgres(url, args.raw)
    raw = result["raw"]
    bound = min(raw["publish_confirm_per_s"], raw["consume_ack_prefetch1_per_s"], raw["insert_commit_per_s"] / 3)
    result["raw"]["bound_docs_per_s"] = round(bound)

    def bodies(tag: str) -> Payloads:
        return Payloads(args.format, args.documents, tag=tag, partners=args.partners, sets=args.sets)

    if "embedded" in runs:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/crossdock.db"
            hub = HubProcess(Path(tmp) / "var", database_url=url,
                             env={"CROSSDOCK_WORKERS": "2", "CROSSDOCK_LOG_LEVEL": "WARNING"})
            result["embedded_sqlite"] = run_hub(hub, url, bodies("E"), args.senders)
    for workers in (int(r) for r in runs if r.isdigit()):
        with tempfile.TemporaryDirectory() as tmp, postgres_database() as url:
            cluster = Cluster(Path(tmp) / "var", database_url=url, workers=workers, concurrency=2)
            run = run_hub(cluster, url, bodies(f"D{workers}"), args.senders)
            # the bound is in messages (each costs the transactions and the publish it counts)
            run["fraction_of_raw_bound"] = round(run["messages_per_s"] / bound, 3)
            result[f"distributed_{workers}_worker{'s' if workers > 1 else ''}"] = run
    result["load_average_at_end"] = os.getloadavg()
    result["reproduce"] = (f".venv/bin/python benchmarks/bench_distributed.py --documents {args.documents} "
                           f"--senders {args.senders} --format {args.format} --partners {args.partners}"
                           + (f" --sets {args.sets}" if args.sets > 1 else "")
                           + (f" --runs {args.runs}" if args.runs != "embedded,1,2" else ""))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
