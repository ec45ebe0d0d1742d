"""The periodic passes over weeks of documents read less without finding anything else (SQLite
and PostgreSQL): the SLA expectations decode each document once across passes and between the
flow and SLA-risk passes of a tick, and the SLA timers look up the cases already opened in a few
queries rather than one per overdue document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from hub.intel import risk as risk_module
from hub.intel.risk import DocumentFacts, expectations
from hub.intel.service import Intelligence
from hub.ops.refdata import DbReferenceData
from hub.ops.rules import partner_rules
from hub.ops.timers import SlaTimers, _known_cases
from hub.partners import partner_dict
from hub.settings import Settings
from hub.storage.db import Database
from hub.storage.edi_tables import EdiOutbound
from hub.storage.tables import Case, Document, Partner, utcnow

SUPPLIERS = ("SUPA", "SUPB")


def _party(pid: str) -> dict[str, Any]:
    return {"id": pid}


def _seed(db: Database, now: datetime, *, days: int = 12, orders_a_day: int = 4) -> None:
    """Orders to two suppliers over ``days`` days with their answers (some late, some missing), our
    own ship notices with carrier reports, a customer's orders and the interchanges we sent."""
    n = 0
    with db.session() as s:
        for pid in SUPPLIERS:
            s.add(Partner(id=pid, name=pid, role="supplier",
                          profile={"exceptions": {"sla_hours": {"855": 24, "856": 72, "810": 96}},
                                   "edi": {"ack_expected_within_seconds": 86400}}))
        s.add(Partner(id="CUST", name="CUST", role="customer", profile={}))
        s.add(Partner(id="TPL", name="TPL", role="customer", profile={}))
        s.add(Partner(id="WH", name="WH", role="internal", profile={"transfers": {"transit_days": 2}}))

        def add(kind: str, partner: str, key: str, c: dict[str, Any], at: datetime, *, out: bool = False) -> None:
            nonlocal n
            n += 1
            s.add(Document(partner_id=partner, document_type=kind, idempotency_key=f"k{n}",
                           business_key=f"{partner}/{key}", revision="0", direction="outbound" if out else "inbound",
                           status="sent" if out else "accepted", canonical=c, created_at=at))

        for day in range(days, 0, -1):
            for i in range(orders_a_day):
                sup, po = SUPPLIERS[i % 2], f"PO{day}-{i}"
                sent = now - timedelta(days=day, hours=i)
                lines = [{"line_number": j, "quantity": j + 1, "unit_price": f"{j}.25"} for j in range(1, 4 + i)]
                add("purchase_order", sup, po, {"po_number": po, "purpose": "original", "seller": _party(sup),
                                                "buyer": _party("US"), "currency": "USD", "lines": lines}, sent,
                    out=True)
                s.add(EdiOutbound(partner_id=sup, standard="x12", set_id="850", po_number=po,
                                  interchange_control=f"{n:09d}", raw=b"ISA", status="sent", sent_at=sent,
                                  ack_status="pending" if i == 0 else "accepted",
                                  acknowledged_at=None if i == 0 else sent + timedelta(hours=2)))
                if i != 1:  # PO ..-1 is never acknowledged
                    add("order_acknowledgment", sup, po, {"po_number": po, "seller": _party(sup)},
                        sent + timedelta(hours=5 + 10 * i))
                if i != 2:  # nor PO ..-2 shipped
                    add("ship_notice", sup, f"S{po}", {
                        "shipment_id": f"S{po}", "seller": _party(sup), "ship_to": _party(f"WH-{i}"),
                        "orders": [{"po_number": po, "items": [{"sku": "A"}] * (i + 1)}]},
                        sent + timedelta(hours=20 + 20 * i))
                    if i != 3:
                        add("invoice", sup, f"I{po}", {"shipment_id": f"S{po}", "po_number": po,
                                                       "seller": _party(sup), "lines": lines},
                            sent + timedelta(hours=40 + 30 * i))
                add("purchase_order", "CUST", f"C{po}", {"po_number": f"C{po}", "seller": _party("US"),
                                                         "lines": lines}, sent)
            add("ship_notice", "US", f"O{day}", {"shipment_id": f"O{day}", "tracking_number": f"1Z{day}",
                                                 "seller": _party("US"), "orders": [{"po_number": f"CPO{day}-0"}]},
                now - timedelta(days=day), out=True)
            add("ship_notice", "WH", f"T{day}", {"shipment_id": f"T{day}", "tracking_number": f"TT{day}",
                                                 "ship_from": _party("WH-1"), "ship_to": _party("WH-2"),
                                                 "orders": []}, now - timedelta(days=day))
            add("ship_notice", "TPL", f"X{day}", {"shipment_id": f"X{day}", "seller": _party("TPL"),
                                                  "orders": [{"po_number": f"X{day}"}]}, now - timedelta(days=day))
            add("shipment_status", "UPSN", f"1Z{day}", {
                "carrier_scac": "UPSN", "tracking_number": f"1Z{day}",
                "events": [{"code": "delivered", "occurred_at": (now - timedelta(days=day)).isoformat()}]},
                now - timedelta(days=day) + timedelta(hours=3))


def _rows(found: list[Any]) -> list[tuple[Any, ...]]:
    return [tuple(getattr(e, f) for f in e.__slots__) for e in found]


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The document types whose canonical JSON the expectations decode, in order."""
    read: list[str] = []
    real = risk_module.facts_of
    monkeypatch.setattr(risk_module, "facts_of", lambda kind, c: read.append(kind) or real(kind, c))
    return read


def test_expectations_from_the_cache_are_those_a_full_read_finds(db: Database, decoded: list[str]) -> None:
    now = utcnow()
    _seed(db, now)
    facts = DocumentFacts()
    with db.reader() as s:
        full = expectations(s, since=now - timedelta(days=30))
        decoded.clear()
        first = expectations(s, since=now - timedelta(days=30), facts=facts)
        assert _rows(first) == _rows(full) and len(full) > 100
        assert any(e.arrived_at is None for e in full) and any(e.kind == "810" for e in full)
        assert len(decoded) == len(set(facts._known)) == facts.decoded  # each document once
        narrower = expectations(s, since=now - timedelta(days=5), facts=facts)
        assert _rows(narrower) == _rows(expectations(s, since=now - timedelta(days=5)))
    decoded.clear()
    with db.session() as s:  # a new acknowledgment and an invoice superseded: the status is read every pass
        s.add(Document(partner_id="SUPB", document_type="order_acknowledgment", idempotency_key="late-855",
                       business_key="SUPB/PO3-1", revision="0", direction="inbound", status="accepted",
                       canonical={"po_number": "PO3-1", "seller": {"id": "SUPB"}}, created_at=now))
        s.execute(update(Document).where(Document.business_key == "SUPA/IPO2-0").values(status="superseded"))
    with db.reader() as s:
        again = expectations(s, since=now - timedelta(days=30), facts=facts)
        assert decoded == ["order_acknowledgment"]  # only the new document was decoded
        assert _rows(again) == _rows(expectations(s, since=now - timedelta(days=30)))
        changed = ({(e.subject, e.arrived_at is None) for e in again}
                   - {(e.subject, e.arrived_at is None) for e in first})
        assert changed == {("855 for purchase_order SUPB/PO3-1 rev 0", False),
                           ("810 for ship_notice SUPA/SPO2-0", True)}


def test_a_tick_decodes_each_document_once_across_its_passes(db: Database, decoded: list[str]) -> None:
    """The flow pass and the SLA-risk pass read the same documents: decoded once for both, and
    the next tick decodes nothing that was already read."""
    now = utcnow()
    _seed(db, now)
    intel = Intelligence(db, Settings(), DbReferenceData(db))
    with db.reader() as s:
        total = len(list(s.scalars(select(Document.id).where(
            Document.document_type.in_(("purchase_order", "order_acknowledgment", "ship_notice", "invoice")),
            Document.partner_id != "CUST"))))
    intel.tick()
    assert len(decoded) == total
    decoded.clear()
    intel.tick()
    assert decoded == []


def _statements(db: Database) -> list[str]:
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda conn, cursor, sql, *a: seen.append(sql))
    return seen


def test_the_timers_open_the_same_cases_with_a_few_lookups(db: Database) -> None:
    """Overdue 855s, 856s, 810s, 997s, a transfer and shipments not invoiced: one case each,
    whatever earlier passes opened, with the cases already opened looked up in a few queries per
    pass and no document decoded twice."""
    now = utcnow()
    _seed(db, now)
    timers = SlaTimers(db, DbReferenceData(db))
    with db.session() as s:  # one case opened by hand before: the timers leave it alone
        s.add(Case(type="missing_855", summary="by hand", partner_id="SUPA", business_key="SUPB/PO8-1"))
    sql = _statements(db)
    opened = timers.run()
    with db.reader() as s:
        cases = sorted((c.type, c.business_key) for c in s.scalars(select(Case)))
    assert len(cases) == len(set(cases)) == opened + 1
    kinds = {t for t, _ in cases}
    assert kinds == {"missing_855", "missing_856", "missing_810", "missing_997", "transfer_not_received",
                     "shipment_not_invoiced"}
    assert ("missing_855", "SUPB/PO8-1") in cases
    sql.clear()
    decoded = timers.facts.decoded
    assert timers.run() == 0
    assert sum("FROM cases" in q for q in sql) <= 2  # not one query per overdue document
    assert timers.facts.decoded == decoded  # and no document decoded again
    with db.session() as s:  # a case resolved since: still not opened again
        s.execute(update(Case).values(status="resolved"))
    assert timers.run() == 0
    assert len(cases) > 20


def test_the_old_per_detection_lookup_finds_the_same_cases(db: Database) -> None:
    """The batched lookup matches asking for each detection on its own (by type and business key)."""
    now = utcnow()
    _seed(db, now, days=6)
    timers = SlaTimers(db, DbReferenceData(db))
    timers.run()
    with db.reader() as s:
        profiles = {p.id: partner_dict(s, p.id) or {} for p in s.scalars(select(Partner))}
        rules = {pid: partner_rules(p) for pid, p in profiles.items()}
        found = timers._overdue(s, profiles, rules, now)
        known = _known_cases(s, found)
        for detection, key, _job, _partner in found:
            one = s.scalar(select(Case.id).where(Case.type == detection.code, Case.business_key == key).limit(1))
            assert ((detection.code, key) in known) == (one is not None)
    assert found


def test_the_timers_find_what_a_cold_pass_finds_after_changes(db: Database) -> None:
    """A pass from the cache finds the detections a new (cold) instance finds, after documents
    arrived and others were superseded."""
    now = utcnow()
    _seed(db, now, days=8)
    warm = SlaTimers(db, DbReferenceData(db))
    with db.reader() as s:
        profiles = {p.id: partner_dict(s, p.id) or {} for p in s.scalars(select(Partner))}
        rules = {pid: partner_rules(p) for pid, p in profiles.items()}
        earlier = [(d.code, d.document) for d, *_ in warm._overdue(s, profiles, rules, now)]
    assert ("missing_855", "purchase_order SUPB/PO3-1 rev 0") in earlier
    assert ("missing_810", "ship_notice SUPA/SPO8-0") not in earlier
    with db.session() as s:
        s.add(Document(partner_id="SUPB", document_type="order_acknowledgment", idempotency_key="late-855",
                       business_key="SUPB/PO3-1", revision="0", direction="inbound", status="accepted",
                       canonical={"po_number": "PO3-1", "seller": {"id": "SUPB"}}, created_at=now))
        s.add(Document(partner_id="UPSN", document_type="shipment_status", idempotency_key="tt5",
                       business_key="UPSN/TT5", revision="0", direction="inbound", status="accepted",
                       canonical={"tracking_number": "TT5", "events": [{"code": "delivered"}]}, created_at=now))
        s.execute(update(Document).where(Document.business_key == "SUPA/IPO8-0").values(status="superseded"))
    with db.reader() as s:
        before = warm.facts.decoded
        found = [(d.as_dict(), *rest) for d, *rest in warm._overdue(s, profiles, rules, now)]
        assert warm.facts.decoded == before + 2
        cold_timers = SlaTimers(db, DbReferenceData(db))
        cold = [(d.as_dict(), *rest) for d, *rest in cold_timers._overdue(s, profiles, rules, now)]
    assert found == cold
    names = {d["document"] for d, *_ in found}
    assert "transfer T5" not in names and "transfer T6" in names
    assert "ship_notice SUPA/SPO8-0" in names  # its invoice was superseded: the 810 is missing again
    assert not any(d["document"] == "purchase_order SUPB/PO3-1 rev 0" and d["code"] == "missing_855"
                   for d, *_ in found)


def test_expected_rows_are_stable_for_a_fixed_now(db: Database) -> None:
    """A fixed clock: the same expectations however the cache was warmed (wider window first)."""
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    _seed(db, now)
    facts = DocumentFacts()
    with db.reader() as s:
        expectations(s, since=now - timedelta(days=60), facts=facts)
        cached = expectations(s, since=now - timedelta(days=7), facts=facts)
        assert _rows(cached) == _rows(expectations(s, since=now - timedelta(days=7)))


def _late_rate_by_scan(closed: list[Any], partner: str, before: datetime) -> float | None:
    """The late rate as it was computed before: a scan of every outcome known before ``before``."""
    seen = [e.arrived_at is None or e.arrived_at > e.due_at for e in closed
            if e.partner == partner and e.known_at < before and e.opened_at >= before - timedelta(days=30)]
    return round(sum(seen) / len(seen), 4) if seen else None


def test_late_rates_are_those_a_scan_finds_in_any_order() -> None:
    """``LateRates.at`` keeps what earlier questions added: the same answers as a scan, asked in
    time order (a pass), out of order, and again."""
    import random

    from hub.intel.risk import Expected, LateRates

    rng = random.Random(5)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    closed = []
    for i in range(600):
        opened = start + timedelta(hours=rng.randrange(90 * 24))
        due = opened + timedelta(hours=rng.choice((24, 72)))
        arrived = None if rng.random() < 0.1 else opened + timedelta(hours=rng.uniform(-5, 100))
        closed.append(Expected("855", rng.choice(SUPPLIERS), f"s{i}", "k", i, opened, due, arrived, 1, 0.0))
    rates = LateRates(closed)
    moments = sorted(start + timedelta(hours=rng.randrange(100 * 24)) for _ in range(300))
    shuffled = rng.sample(moments, len(moments))
    for before in [*moments, *shuffled, *moments]:
        for partner in (*SUPPLIERS, "NOBODY"):
            assert rates.at(partner, before) == _late_rate_by_scan(closed, partner, before)
    prepared = LateRates(closed).prepare(closed)  # a training pass: every closed expectation's opening
    for e in rng.sample(closed, len(closed)):
        assert prepared.at(e.partner, e.opened_at) == _late_rate_by_scan(closed, e.partner, e.opened_at)


def test_the_documents_a_pass_reads_leave_customer_orders_unread(db: Database) -> None:
    """Every pass of the timers (every 5 s) and of the SLA-risk model asks which documents of the
    last 30 days can open or close an expectation: all but customers' orders. The answer is the
    filter's, and whether an inbound order's seller is a supplier is asked of the seller's index,
    not of each customer order's JSON (on SQLite, its plan)."""
    from hub.intel.risk import _BEARING
    from hub.ops.timers import _LIVE, expectation_documents

    now = utcnow()
    _seed(db, now, days=4)
    with db.session() as s:  # orders of ours handed in by the ERP for a supplier, and one superseded
        s.add(Partner(id="ERP", name="ERP", role="internal", profile={}))
        for n, (seller, status) in enumerate((("SUPA", "accepted"), ("SUPB", "accepted"), ("SUPA", "superseded"),
                                              ("CUST", "accepted"))):
            s.add(Document(partner_id="ERP", document_type="purchase_order", idempotency_key=f"erp{n}",
                           business_key=f"US/E{n}", revision="0", direction="inbound", status=status,
                           canonical={"po_number": f"E{n}", "seller": {"id": seller}}, created_at=now))
    since = now - timedelta(days=2)
    columns = (Document.id, Document.document_type, Document.partner_id, Document.direction)
    with db.reader() as s:
        everything = list(s.execute(select(Document.id, Document.document_type, Document.partner_id,
                                           Document.direction, Document.status, Document.created_at,
                                           Document.canonical)))
    at = since.replace(tzinfo=None)

    def expected(types: tuple[str, ...] | None) -> list[int]:
        return sorted(
            d.id for d in everything
            if (d.status in _LIVE or d.direction == "outbound") and d.created_at.replace(tzinfo=None) >= at
            and (types is None or d.document_type in types)
            and (d.document_type != "purchase_order"
                 or (d.direction == "outbound" and d.partner_id in SUPPLIERS)
                 or (d.direction != "outbound" and (d.canonical.get("seller") or {}).get("id") in SUPPLIERS)))

    statements: list[tuple[str, Any]] = []
    event.listen(db.engine, "before_cursor_execute",
                 lambda _c, _cur, sql, params, *_a: statements.append((sql, params)))
    with db.reader() as s:
        for types in (None, _BEARING):
            got = [r.id for r in expectation_documents(s, columns, since=since, suppliers=SUPPLIERS, types=types)]
            assert got == expected(types) and len(got) > 20
        assert {"ERP"} <= {r.partner_id for r in expectation_documents(s, columns, since=since, suppliers=SUPPLIERS)}
        assert not [r for r in expectation_documents(s, columns, since=since, suppliers=())
                    if r.document_type == "purchase_order"]
        if db.engine.dialect.name == "sqlite":
            json_reads = [sql for sql, _params in statements if "json_extract" in sql]
            assert json_reads
            for sql in json_reads:
                plan = " ".join(str(row[-1]) for row in s.connection().exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + sql, tuple(["x"] * sql.count("?"))).all())
                assert "ix_documents_seller_invoice_date" in plan, plan
        # the documents but orders come by the partial index that leaves orders out, not by
        # stepping over every order of the window on the created_at index
        not_orders = [(sql, params) for sql, params in statements if "!= 'purchase_order'" in sql]
        assert not_orders
        conn = s.connection()
        if db.engine.dialect.name != "sqlite":  # on a table this small the planner reads it whole
            conn.exec_driver_sql("ANALYZE documents")
            conn.exec_driver_sql("SET enable_seqscan = off")  # asked to use an index: which one
        try:
            for sql, params in not_orders:
                explain = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
                plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(explain + sql, params).all())
                assert "ix_documents_created_not_order" in plan, plan
        finally:
            if db.engine.dialect.name != "sqlite":
                conn.exec_driver_sql("RESET enable_seqscan")
