"""Periodic work at scale: one intelligence pass and one SLA-timers pass over weeks of documents.

Builds a migrated database (SQLite file, or a throwaway PostgreSQL database with ``--postgres``)
with ``--days`` days of ``--per-day`` documents from ``--partners`` partners, inserted directly
with SQLAlchemy Core: customers' orders, orders to suppliers (with their outbound interchange
awaiting a 997) and the suppliers' acknowledgments, ship notices and invoices, our own ship
notices to customers, carriers' tracking reports, stock transfers between our warehouses, a
receipt per inbound document and some cases. Then it times, each twice (the first pass opens
the cases and records the predictions; the second is the steady state a running hub sees every
minute / every 5 s):

* ``Intelligence.tick()`` (flow anomalies, SLA risk, priority, agents) and its parts;
* ``SlaTimers.run()`` (missing 855/856/810/997, uninvoiced shipments, transfers);

and prints one JSON document: seconds per pass, the documents read and the canonical JSON
documents decoded (counted by wrapping the JSON column's decoder), and the top cProfile entries.

Reproduce:
    nice -n 10 .venv/bin/python benchmarks/bench_periodic.py                 # SQLite, 60 days x 1,500/day
    nice -n 10 .venv/bin/python benchmarks/bench_periodic.py --per-day 3000  # 180k documents
    nice -n 10 .venv/bin/python benchmarks/bench_periodic.py --postgres
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import structlog
from sqlalchemy import event, insert, select

from hub.intel.service import Intelligence
from hub.ops.refdata import DbReferenceData
from hub.ops.timers import SlaTimers
from hub.settings import Settings
from hub.storage.db import Database
from hub.storage.edi_tables import EdiOutbound
from hub.storage.tables import Case, Document, InboxEntry, Partner, utcnow
from tests.support.services import postgres_database, sqlite_database

BATCH = 2000
# share of a day's documents, by kind
MIX = {"customer_po": 0.30, "supplier_po": 0.14, "ack": 0.13, "notice": 0.12, "invoice": 0.12,
       "our_notice": 0.08, "status": 0.10, "transfer": 0.01}


def _lines(rng: random.Random, n: int) -> list[dict[str, Any]]:
    return [{"line_number": i + 1, "sku": f"SKU-{rng.randrange(100000):05d}", "description": "Widget, 12-pack",
             "quantity": rng.randrange(1, 200), "unit_price": f"{rng.uniform(0.5, 90):.2f}", "uom": "EA",
             "gtin": f"{rng.randrange(10**13):013d}"} for i in range(n)]


def _party(pid: str) -> dict[str, Any]:
    return {"id": pid, "name": f"{pid} Inc.", "address": {"street": "1 Main St", "city": "Springfield",
                                                          "postal_code": "12345", "country": "US"}}


def build(url: str, *, days: int, per_day: int, partners: int, seed: int = 7) -> dict[str, int]:
    """Fill the database at ``url``; returns row counts."""
    rng = random.Random(seed)
    db = Database(url)
    now = utcnow()
    n_sup = max(2, partners // 2)
    suppliers = [f"SUP{i:02d}" for i in range(n_sup)]
    customers = [f"CUS{i:02d}" for i in range(max(1, partners - n_sup - 2))]
    internal, carrier = "WH-INTERNAL", "UPSN"
    counts = {"documents": 0, "edi_outbound": 0, "inbox": 0, "cases": 0}
    with db.engine.begin() as c:
        c.execute(insert(Partner), [
            *({"id": p, "name": p, "role": "supplier", "active": True, "paused": False, "source": "api",
               "profile": {"exceptions": {"sla_hours": {"855": 24, "856": 72, "810": 120}},
                           "edi": {"ack_expected_within_seconds": 86400}}, "created_at": now, "updated_at": now}
              for p in suppliers),
            *({"id": p, "name": p, "role": "customer", "active": True, "paused": False, "source": "api",
               "profile": {}, "created_at": now, "updated_at": now} for p in customers),
            {"id": internal, "name": internal, "role": "internal", "active": True, "paused": False, "source": "api",
             "profile": {"transfers": {"transit_days": 3}}, "created_at": now, "updated_at": now},
            {"id": carrier, "name": carrier, "role": "carrier", "active": True, "paused": False, "source": "api",
             "profile": {}, "created_at": now, "updated_at": now}])
    docs: list[dict[str, Any]] = []
    outbound: list[dict[str, Any]] = []
    inbox: list[dict[str, Any]] = []
    next_inbox = [0]
    seq = [0]

    def flush(force: bool = False) -> None:
        with db.engine.begin() as c:
            for table, rows, key in ((InboxEntry, inbox, "inbox"), (Document, docs, "documents"),
                                     (EdiOutbound, outbound, "edi_outbound")):
                if rows and (force or len(rows) >= BATCH):
                    c.execute(insert(table), rows)
                    counts[key] += len(rows)
                    rows.clear()

    def doc(kind: str, partner: str, key: str, canonical: dict[str, Any], at: Any, *, direction: str = "inbound",
            status: str = "accepted") -> None:
        seq[0] += 1
        inbox_id = None
        if direction == "inbound":
            next_inbox[0] += 1
            inbox_id = next_inbox[0]
            inbox.append({"id": inbox_id, "received_at": at, "partner_id": partner, "channel": "as2",
                          "document_type": kind, "sha256": f"{seq[0]:064x}", "size": 2048, "meta": {},
                          "status": "processed", "outcome": {}})
        docs.append({"inbox_id": inbox_id, "partner_id": partner, "document_type": kind,
                     "idempotency_key": f"k{seq[0]}", "business_key": f"{partner}/{key}", "revision": "0",
                     "direction": direction, "status": status, "canonical": canonical, "created_at": at,
                     "updated_at": at})

    start = now - timedelta(days=days)
    per_kind = {k: max(1, round(per_day * share)) for k, share in MIX.items()}
    for day in range(days):
        base = start + timedelta(days=day)

        def at(base: Any = base) -> Any:
            return base + timedelta(seconds=rng.randrange(86400))

        for i in range(per_kind["customer_po"]):
            cus = rng.choice(customers)
            doc("purchase_order", cus, f"C{day}-{i}", {
                "po_number": f"C{day}-{i}", "purpose": "original", "buyer": _party(cus), "seller": _party("CROSSDOCK"),
                "currency": "USD", "lines": _lines(rng, rng.randrange(10, 21))}, at())
        for i in range(per_kind["supplier_po"]):
            sup, po, sent = rng.choice(suppliers), f"P{day}-{i}", at()
            lines = _lines(rng, rng.randrange(10, 21))
            doc("purchase_order", sup, po, {"po_number": po, "purpose": "original", "buyer": _party("CROSSDOCK"),
                                            "seller": _party(sup), "currency": "USD", "lines": lines},
                sent, direction="outbound", status="sent")
            acked = rng.random() < 0.9
            outbound.append({"partner_id": sup, "standard": "x12", "set_id": "850", "document_type": "purchase_order",
                             "po_number": po, "interchange_control": f"{seq[0]:09d}", "raw": b"ISA*...",
                             "status": "sent", "sent_at": sent, "ack_status": "accepted" if acked else "pending",
                             "acknowledged_at": sent + timedelta(hours=rng.uniform(0.1, 30)) if acked else None,
                             "ack_detail": [], "attempts": 1, "next_attempt_at": sent, "created_at": sent,
                             "canonical": None})
            # the supplier's answers, mostly on time
            if rng.random() < 0.92:
                doc("order_acknowledgment", sup, po, {"po_number": po, "seller": _party(sup),
                                                      "buyer": _party("CROSSDOCK"),
                                                      "lines": [{"line_number": ln["line_number"], "status": "accepted",
                                                                 "quantity": ln["quantity"]} for ln in lines]},
                    sent + timedelta(hours=rng.uniform(1, 30)))
            if rng.random() < 0.85:
                shipped = sent + timedelta(hours=rng.uniform(12, 90))
                tracking = f"1Z{seq[0]:010d}"
                doc("ship_notice", sup, f"S{po}", {
                    "shipment_id": f"S{po}", "tracking_number": tracking, "carrier_scac": carrier,
                    "seller": _party(sup), "buyer": _party("CROSSDOCK"), "ship_from": _party(f"{sup}-DC"),
                    "ship_to": _party(f"WH-{rng.randrange(4)}"),
                    "orders": [{"po_number": po, "packs": [{"sscc": f"{seq[0]:018d}{p}", "items": []}
                                                           for p in range(3)],
                                "items": [{"line_number": ln["line_number"], "sku": ln["sku"],
                                           "quantity": ln["quantity"]} for ln in lines]}]}, shipped)
                if rng.random() < 0.9:
                    doc("invoice", sup, f"I{po}", {"invoice_number": f"I{po}", "shipment_id": f"S{po}",
                                                  "po_number": po, "seller": _party(sup),
                                                  "buyer": _party("CROSSDOCK"), "currency": "USD", "lines": lines},
                        shipped + timedelta(hours=rng.uniform(2, 140)))
        for i in range(per_kind["our_notice"]):
            cus, when = rng.choice(customers), at()
            tracking = f"1Y{day:03d}{i:07d}"
            doc("ship_notice", "CROSSDOCK", f"O{day}-{i}", {
                "shipment_id": f"O{day}-{i}", "tracking_number": tracking, "seller": _party("CROSSDOCK"),
                "buyer": _party(cus), "ship_from": _party(f"WH-{rng.randrange(4)}"), "ship_to": _party(f"{cus}-DC"),
                "orders": [{"po_number": f"C{day}-{i}", "items": [{"sku": "SKU-1", "quantity": 5}] * 12}]},
                when, direction="outbound", status="sent")
            if i < per_kind["status"]:
                code = "delivered" if rng.random() < 0.8 else rng.choice(["in_transit", "exception", "delayed"])
                doc("shipment_status", carrier, tracking, {
                    "carrier_scac": carrier, "tracking_number": tracking, "shipment_id": f"O{day}-{i}",
                    "po_numbers": [f"C{day}-{i}"],
                    "events": [{"code": "picked_up", "occurred_at": when.isoformat(), "location": {"city": "Reno"}},
                               {"code": code, "occurred_at": (when + timedelta(days=1)).isoformat(),
                                "location": {"city": "Denver"}}]}, when + timedelta(days=1))
        for i in range(per_kind["transfer"]):
            doc("ship_notice", internal, f"T{day}-{i}", {
                "shipment_id": f"T{day}-{i}", "tracking_number": f"TT{day}-{i}", "seller": _party(internal),
                "ship_from": _party("WH-0"), "ship_to": _party("WH-1"),
                "orders": [{"po_number": f"T{day}-{i}", "items": [{"sku": "SKU-2", "quantity": 40}]}]}, at())
        flush()
    flush(force=True)
    with db.engine.begin() as c:  # some cases, half of them still open (priority and agents read those)
        ids = list(c.scalars(select(Document.id).order_by(Document.id).limit(3000)))
        rows = [{"type": "price_mismatch", "severity": "medium", "status": rng.choice(["open", "resolved"]),
                 "partner_id": rng.choice(suppliers), "document_id": i, "summary": "price differs", "details": {},
                 "score": 0.5, "created_at": now - timedelta(days=rng.uniform(0, 20)), "updated_at": now,
                 "business_key": f"x/{i}"} for i in ids]
        if rows:
            c.execute(insert(Case), rows)
        counts["cases"] = len(rows)
    db.engine.dispose()
    return counts


DECODED = {"json_values_decoded": 0}


def count_decodes(db: Database) -> None:
    """Count the JSON values (canonical, profiles, ...) decoded from the database: the dialect's
    deserializer (SQLite), psycopg's json/jsonb loaders (PostgreSQL), set before the first connection."""
    def loads(value: Any) -> Any:
        DECODED["json_values_decoded"] += 1
        return json.loads(value)

    db.engine.dialect._json_deserializer = loads
    if db.engine.dialect.name == "postgresql":  # psycopg decodes json/jsonb itself: its loaders, per connection
        from psycopg.types.json import set_json_loads

        event.listen(db.engine, "connect", lambda connection, _record: set_json_loads(loads, connection))


def timed(fn: Callable[[], object], *, profile: bool, top: int = 12) -> dict[str, Any]:
    prof = cProfile.Profile() if profile else None
    before = DECODED["json_values_decoded"]
    t0 = time.perf_counter()
    if prof is not None:
        prof.enable()
    result = fn()
    if prof is not None:
        prof.disable()
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {"seconds": round(seconds, 3),
                           "json_values_decoded": DECODED["json_values_decoded"] - before,
                           "result": result if isinstance(result, (int, dict)) else None}
    if prof is not None:
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats("cumulative")
        entries = []
        for (file, line, name), (_cc, ncalls, tt, ct, _callers) in sorted(
                stats.stats.items(), key=lambda kv: -kv[1][3])[:60]:  # type: ignore[attr-defined]
            if "crossdock" in file or "/hub/" in file or "/pipelines/" in file:
                entries.append({"function": f"{Path(file).name}:{line}:{name}", "calls": ncalls,
                                "own_s": round(tt, 3), "cumulative_s": round(ct, 3)})
        out["top"] = entries[:top]
    return out


def measure(url: str, *, profile: bool) -> dict[str, Any]:
    db = Database(url)
    count_decodes(db)
    refdata = DbReferenceData(db)
    intel = Intelligence(db, Settings(), refdata)
    timers = SlaTimers(db, refdata)
    out: dict[str, Any] = {}
    for label in ("first", "steady"):
        out[f"sla_timers_{label}"] = timed(timers.run, profile=profile and label == "steady")
        out[f"intel_tick_{label}"] = timed(intel.tick, profile=profile and label == "steady")
    # the parts of a steady intelligence pass
    out["parts"] = {name: timed(fn, profile=False) for name, fn in (
        ("flows.detections", intel.flows.detections), ("risk.run", intel.risk.run),
        ("priority.run", intel.priority.run), ("agents.run", intel.agents.run))}
    # the per-document caches kept between passes (absent before 2026-12-07)
    out["cached_documents"] = {"sla_timers": len(getattr(timers, "facts", ())),
                               "intel": len(getattr(intel, "facts", ()))}
    with db.reader() as s:
        out["rows"] = {"documents": s.scalar(select(Document.id).order_by(Document.id.desc()).limit(1)),
                       "edi_outbound": s.scalar(select(EdiOutbound.id).order_by(EdiOutbound.id.desc()).limit(1))}
    db.engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--per-day", type=int, default=1500)
    parser.add_argument("--partners", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--keep", type=Path, help="SQLite: build (or reuse) the database at this path")
    parser.add_argument("--build-only", action="store_true", help="with --keep: build the database, measure nothing")
    args = parser.parse_args(argv)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))  # stdout is the JSON report
    command = "nice -n 10 .venv/bin/python benchmarks/bench_periodic.py " + " ".join(argv or sys.argv[1:])
    report: dict[str, Any] = {"command": command.strip(), "days": args.days, "per_day": args.per_day,
                              "partners": args.partners, "database": "postgresql" if args.postgres else "sqlite"}

    def run(url: str, fresh: bool) -> None:
        if fresh:
            t0 = time.perf_counter()
            report["built"] = build(url, days=args.days, per_day=args.per_day, partners=args.partners)
            report["build_seconds"] = round(time.perf_counter() - t0, 1)
        if args.build_only:
            return
        report.update(measure(url, profile=not args.no_profile))

    if args.postgres:
        with postgres_database() as url:
            run(url, True)
    elif args.keep is not None:
        fresh = not args.keep.exists()
        url = sqlite_database(args.keep) if fresh else f"sqlite:///{args.keep}"
        run(url, fresh)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(sqlite_database(Path(tmp) / "periodic.db"), True)
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
