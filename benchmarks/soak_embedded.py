"""Memory soak of the embedded default: is the server's memory flat over many documents?

Starts a real `crossdock serve` (SQLite, embedded workers) in a folder, streams N purchase
orders (JSON, or with ``--format x12`` 20-line X12 850 interchanges, each answered with a 997) over HTTP from C concurrent senders (``Prefer: respond-async``; each body is made as it
is sent, so the sender's memory stays flat too), and every ``--sample-seconds`` records the
documents sent and processed, the server's resident memory (VmRSS) and its CPU time. Prints
one JSON line per sample to stderr and the whole series as JSON at the end.

Reproduce (the 1-million-document soak; about an hour on a 2-core machine):
    .venv/bin/python benchmarks/soak_embedded.py --documents 1000000 --senders 8
The EDI path:
    .venv/bin/python benchmarks/soak_embedded.py --format x12 --documents 150000 --senders 8 --rate 50
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_decode import make_850  # noqa: E402
from benchmarks.e2e_payloads import FORMATS, Payloads  # noqa: E402
from tests.support.hubproc import ADMIN_KEY, HubProcess  # noqa: E402


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--documents", type=int, default=1_000_000)
    ap.add_argument("--senders", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sample-seconds", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=0.0,
                    help="send at most this many documents a second (0: as fast as the server takes them); "
                         "below the processing rate the backlog stays small and memory shows the steady state")
    ap.add_argument("--folder", default=None, help="keep the hub's data here (default: a temporary folder)")
    ap.add_argument("--format", choices=FORMATS, default="json",
                    help="json: JSON purchase orders; x12: 20-line X12 850 interchanges to POST /api/v1/inbound/edi")
    ap.add_argument("--sets", type=int, default=1,
                    help="x12 only: this many 850s in each interchange (one group, one 997); "
                         "--documents and --rate still count orders")
    args = ap.parse_args()
    if args.sets < 1 or (args.sets > 1 and args.format != "x12") or args.documents % args.sets:
        ap.error("--sets: 1 or more, more than 1 only with --format x12, and dividing --documents")
    bodies = args.documents // args.sets  # what is sent: one body per interchange (or JSON order)

    template = json.loads((ROOT / "examples" / "purchase-order.json").read_text())
    load = Payloads(args.format, 0, tag="S")  # the path and the partner; the bodies are made as they are sent

    def body(i: int) -> bytes:
        if args.format == "x12":  # a distinct interchange, group and PO number each, from ACMESTORES
            return make_850(random.Random(i), i + 1, sets=args.sets)
        return json.dumps(template | {"po_number": f"S-{i:08d}"}).encode()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.folder or tmp)
        url = f"sqlite:///{root}/crossdock.db"
        hub = HubProcess(root / "var", database_url=url,
                         env={"CROSSDOCK_WORKERS": str(args.workers), "CROSSDOCK_LOG_LEVEL": "WARNING"})
        hub.start()
        samples: list[dict[str, Any]] = []
        try:
            load.setup(hub)
            assert hub.proc is not None
            pid = hub.proc.pid
            numbers = itertools.count()
            lock = threading.Lock()
            sent = 0
            refused: dict[int, int] = {}

            def sender() -> None:
                nonlocal sent
                with httpx.Client(base_url=hub.url, timeout=60, headers={
                        "Authorization": f"Bearer {ADMIN_KEY}", "Prefer": "respond-async"}) as client:
                    while True:
                        with lock:
                            i = next(numbers)
                        if i >= bodies:
                            return
                        if args.rate:
                            time.sleep(max(0.0, started + i * args.sets / args.rate - time.perf_counter()))
                        code = client.post(load.path, content=body(i)).status_code
                        with lock:
                            sent += args.sets  # documents
                            if code != 202:
                                refused[code] = refused.get(code, 0) + 1

            engine = create_engine(url)
            started, cpu0 = time.perf_counter(), cpu_seconds(pid)

            def sample() -> dict[str, Any]:
                with engine.connect() as conn:
                    done = int(conn.scalar(text("select count(*) from documents")) or 0)
                row = {"seconds": round(time.perf_counter() - started, 1), "sent": sent, "processed": done,
                       "rss_mb": round(status_kb(pid, "VmRSS") / 1024, 1),
                       "peak_rss_mb": round(status_kb(pid, "VmHWM") / 1024, 1),
                       "server_cpu_s": round(cpu_seconds(pid) - cpu0, 1)}
                samples.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
                return row

            threads = [threading.Thread(target=sender, daemon=True) for _ in range(args.senders)]
            for t in threads:
                t.start()
            last = time.perf_counter()
            while True:
                time.sleep(1.0)
                if time.perf_counter() - last >= args.sample_seconds:
                    last = time.perf_counter()
                    if sample()["processed"] >= args.documents:
                        break
                elif not any(t.is_alive() for t in threads):
                    row = sample()
                    if row["processed"] >= args.documents:
                        break
                    time.sleep(min(args.sample_seconds, 5.0))
            engine.dispose()
        finally:
            hub.close()
    steady = [s for s in samples if s["processed"] >= args.documents * 0.1]
    result = {
        "benchmark": "soak_embedded_json_po" if args.format == "json" else "soak_embedded_x12_850",
        "documents": args.documents, "sets_per_interchange": args.sets, "senders": args.senders,
        "workers": args.workers,
        "refused": refused,
        "seconds": samples[-1]["seconds"] if samples else None,
        "docs_per_s": round(samples[-1]["processed"] / samples[-1]["seconds"], 1) if samples else None,
        "rss_mb_after_10_percent": {"min": min(s["rss_mb"] for s in steady), "max": max(s["rss_mb"] for s in steady)}
        if steady else None,
        "peak_rss_mb": samples[-1]["peak_rss_mb"] if samples else None,
        "server_cpu_ms_per_doc": round(samples[-1]["server_cpu_s"] * 1000 / max(1, samples[-1]["processed"]), 2)
        if samples else None,
        "samples": samples,
        "cpus": os.cpu_count(),
        "rate": args.rate,
        "reproduce": f".venv/bin/python benchmarks/soak_embedded.py --documents {args.documents} "
                     f"--senders {args.senders}" + (f" --rate {args.rate:g}" if args.rate else "")
                     + (f" --format {args.format}" if args.format != "json" else "")
                     + (f" --sets {args.sets}" if args.sets > 1 else ""),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
