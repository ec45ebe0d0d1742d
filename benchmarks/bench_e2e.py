"""End-to-end throughput of the embedded default: HTTP in → canonical → validated → deduplicated → stored.

Starts a real `crossdock serve` (SQLite, embedded workers) in a temporary folder, sends N purchase
orders over HTTP from C concurrent senders (``Prefer: respond-async``), waits until every one is
processed, and reports documents/s, receipt→processed latency (p50/p99, from the database's own
timestamps) and the server's peak RSS.

``--format x12`` sends 20-line X12 850 interchanges to ``POST /api/v1/inbound/edi`` instead (each
also answered with a 997 in the partner's outbox).

Reproduce:
    .venv/bin/python benchmarks/bench_e2e.py --documents 5000 --senders 8
    .venv/bin/python benchmarks/bench_e2e.py --documents 3000 --senders 8 --format x12
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.e2e_payloads import FORMATS, Payloads  # noqa: E402
from tests.support.hubproc import ADMIN_KEY, HubProcess  # noqa: E402


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--documents", type=int, default=5000)
    ap.add_argument("--senders", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    ap.add_argument("--format", choices=FORMATS, default="json",
                    help="json: JSON purchase orders; x12: 20-line 850s to POST /api/v1/inbound/edi (a 997 each)")
    ap.add_argument("--sets", type=int, default=1,
                    help="x12: 850s per interchange (one functional group, one 997); --documents counts the 850s")
    args = ap.parse_args()

    load = Payloads(args.format, args.documents, tag="B", sets=args.sets)
    bodies = load.bodies
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/crossdock.db"
        hub = HubProcess(Path(tmp) / "var", database_url=url,
                         env={"CROSSDOCK_WORKERS": str(args.workers), "CROSSDOCK_LOG_LEVEL": "WARNING"})
        hub.start()
        try:
            load.setup(hub)
            clients = [httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {ADMIN_KEY}",
                                                                "Prefer": "respond-async"}) for _ in range(args.senders)]

            def send(i: int) -> int:
                return clients[i % args.senders].post(load.path, content=bodies[i]).status_code

            assert hub.proc is not None
            cpu_before = cpu_seconds(hub.proc.pid)
            client_cpu_before = time.process_time()
            started = time.perf_counter()
            with ThreadPoolExecutor(args.senders) as pool:
                codes = list(pool.map(send, range(len(bodies))))
            sent = time.perf_counter()
            assert all(c == 202 for c in codes), {c: codes.count(c) for c in set(codes)}
            engine = create_engine(url)
            while True:
                with engine.connect() as conn:
                    if load.done(conn):
                        break
                time.sleep(0.05)
            finished = time.perf_counter()
            server_cpu = cpu_seconds(hub.proc.pid) - cpu_before
            client_cpu = time.process_time() - client_cpu_before
            with engine.connect() as conn:
                rows = conn.execute(text(
                    "select d.created_at, i.received_at from documents d join inbox i on i.id = d.inbox_id")).all()
            engine.dispose()
            assert hub.proc is not None
            rss = peak_rss_mb(hub.proc.pid)
        finally:
            hub.close()

    def seconds(value: object) -> float:
        from datetime import datetime

        return datetime.fromisoformat(str(value)).timestamp() if not hasattr(value, "timestamp") else value.timestamp()  # type: ignore[attr-defined]

    latencies = sorted(seconds(c) - seconds(r) for c, r in rows)
    result = {
        "benchmark": f"e2e_embedded_{load.name}",
        "documents": args.documents, "senders": args.senders, "workers": args.workers,
        "database": "sqlite" if url.startswith("sqlite") else "postgresql",
        "intake_docs_per_s": round(args.documents / (sent - started), 1),
        "end_to_end_docs_per_s": round(args.documents / (finished - started), 1),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "server_peak_rss_mb": round(rss, 1),
        # CPU time per document holds across loads better than documents/s on a shared machine
        "server_cpu_ms_per_doc": round(server_cpu * 1000 / args.documents, 2),
        "sender_cpu_ms_per_doc": round(client_cpu * 1000 / args.documents, 2),
        "cpus": os.cpu_count(),
        "reproduce": f".venv/bin/python benchmarks/bench_e2e.py --documents {args.documents} --senders {args.senders}"
                     f" --format {args.format}" + (f" --sets {args.sets}" if args.sets > 1 else ""),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
