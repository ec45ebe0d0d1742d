"""SLA risk, learned priority and flow anomalies over the hub's tables (SQLite and PostgreSQL):
models train and version, predictions name their model, a corrupt model falls back to rules
with a warning, a high risk opens a case before the deadline, an outage opens one case."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select, update

from hub.intel.flows import FlowWatch
from hub.intel.models import ModelRegistry, card
from hub.intel.priority import PriorityPass
from hub.intel.risk import SlaRiskPass
from hub.ops.refdata import DbReferenceData
from hub.storage.db import Database
from hub.storage.intel_tables import IntelDecision, IntelModel
from hub.storage.ops_tables import CaseEvent
from hub.storage.tables import Case, Document, Partner, utcnow


def _doc(s: Any, n: int, kind: str, partner: str, at: datetime, canonical: dict[str, Any], *,
         direction: str = "inbound", key: str | None = None) -> Document:
    d = Document(partner_id=partner, document_type=kind, idempotency_key=f"{kind}:{partner}:{n}",
                 business_key=key or f"{partner}/{n}", revision="0", direction=direction,
                 status="sent" if direction == "outbound" else "accepted", canonical=canonical, created_at=at)
    s.add(d)
    return d


def _order(po: str, supplier: str) -> dict[str, Any]:
    return {"po_number": po, "seller": {"id": supplier}, "currency": "EUR",
            "lines": [{"line_number": "1", "quantity": "10", "unit_price": "12.50"}]}


def _seed_suppliers(db: Database, now: datetime, days: int = 120) -> None:
    """LATECO answers its 855 late 90 % of the time, GOODCO on time; nobody sends 856s."""
    rng = random.Random(7)
    with db.session() as s:
        for pid in ("LATECO", "GOODCO"):
            s.add(Partner(id=pid, name=pid, role="supplier", profile={"id": pid}))
        n = 0
        for day in range(days, 1, -1):
            for supplier, late in (("LATECO", 0.9), ("GOODCO", 0.05)):
                n += 1
                opened = now - timedelta(days=day, hours=rng.randint(0, 8))
                po = f"PO-{n}"
                _doc(s, n, "purchase_order", supplier, opened, _order(po, supplier), direction="outbound",
                     key=f"CROSSDOCK/{po}")
                hours = rng.uniform(30, 40) if rng.random() < late else rng.uniform(2, 10)
                _doc(s, n, "order_acknowledgment", supplier, opened + timedelta(hours=hours),
                     {"po_number": po, "seller": {"id": supplier}})


def test_sla_risk_trains_versions_predicts_and_opens_a_case_before_the_deadline(db: Database) -> None:
    now = utcnow()
    _seed_suppliers(db, now)
    registry = ModelRegistry(db)
    risk = SlaRiskPass(db, registry, DbReferenceData(db))
    first = risk.train(now=now)
    assert first["trained"] and first["version"] == 1
    assert first["metrics"]["brier"] < first["metrics"]["brier_of_base_rate"]
    with db.session() as s:  # two open orders, placed two hours ago
        _doc(s, 9001, "purchase_order", "LATECO", now - timedelta(hours=2), _order("PO-OPEN-L", "LATECO"),
             direction="outbound", key="CROSSDOCK/PO-OPEN-L")
        _doc(s, 9002, "purchase_order", "GOODCO", now - timedelta(hours=2), _order("PO-OPEN-G", "GOODCO"),
             direction="outbound", key="CROSSDOCK/PO-OPEN-G")
    assert risk.run(now=now) >= 1
    with db.reader() as s:
        preds = {d.subject: d for d in s.scalars(select(IntelDecision).where(IntelDecision.kind == "prediction"))}
        late = preds["855 for purchase_order CROSSDOCK/PO-OPEN-L rev 0"]
        good = preds["855 for purchase_order CROSSDOCK/PO-OPEN-G rev 0"]
        assert (late.model_name, late.model_version, late.source) == ("sla_risk", 1, "model")
        assert late.value is not None and good.value is not None and late.value > 0.7 > good.value
        assert late.features["partner=LATECO"] == 1.0 and late.outcome["top_factors"]
        cases = list(s.scalars(select(Case).where(Case.type == "sla_risk")))
        assert [c.business_key for c in cases if "855" in c.summary] == ["CROSSDOCK/PO-OPEN-L"]
        case = next(c for c in cases if "855" in c.summary)
        evidence = case.details["detection"]["evidence"]
        assert evidence["model_version"] == 1 and evidence["expected"] == "855"
        assert "likely to miss its 855 from LATECO" in case.summary and "model v1" in case.summary
        assert case.partner_id == "LATECO" and late.case_id == case.id
    opened_again = risk.run(now=now + timedelta(minutes=5))
    with db.reader() as s:
        assert opened_again == 0 or "855" not in " ".join(
            c.summary for c in s.scalars(select(Case).where(Case.type == "sla_risk", Case.id > case.id)))
    second = risk.train(now=now)
    assert second["version"] == 2
    with db.reader() as s:
        assert {m.version: m.status for m in s.scalars(select(IntelModel).where(IntelModel.name == "sla_risk"))} \
            == {1: "retired", 2: "active"}
        shown = card(s, "sla_risk")
        assert shown["active_version"] == 2 and shown["training_window"]["start"] is not None
        assert [v["version"] for v in shown["versions"]] == [2, 1]


def _trained(db: Database, now: datetime) -> tuple[ModelRegistry, SlaRiskPass]:
    """Sixty days of supplier history and an SLA risk model trained on it."""
    _seed_suppliers(db, now, days=60)
    registry = ModelRegistry(db)
    risk = SlaRiskPass(db, registry, DbReferenceData(db))
    assert risk.train(now=now)["trained"]
    return registry, risk


def test_a_corrupt_model_falls_back_to_rules_with_a_warning(db: Database) -> None:
    now = utcnow()
    registry, risk = _trained(db, now)
    with db.session() as s:
        s.execute(update(IntelModel).values(artifact={"name": "sla_risk", "coef": "not numbers"}))
        _doc(s, 9001, "purchase_order", "LATECO", now - timedelta(hours=2), _order("PO-OPEN", "LATECO"),
             direction="outbound", key="CROSSDOCK/PO-OPEN")
    registry.forget()
    assert risk.run(now=now) == 0  # no case from a rule estimate two hours into a 24 h SLA
    with db.reader() as s:
        pred = s.scalar(select(IntelDecision).where(IntelDecision.subject == "855 for purchase_order CROSSDOCK/PO-OPEN rev 0"))
        assert pred is not None and pred.source == "rules" and pred.model_version is None
        assert pred.warning is not None and "sla_risk model v1 is unusable" in pred.warning
    assert registry.fallbacks == 1


def test_without_history_nothing_trains_and_the_card_says_why(db: Database) -> None:
    registry = ModelRegistry(db)
    out = SlaRiskPass(db, registry, DbReferenceData(db)).train()
    assert out["trained"] is False and "at least 60" in out["reason"]
    with db.reader() as s:
        shown = card(s, "sla_risk")
    assert shown["active_version"] is None and shown["fallback"] == "rules"
    assert "at least 60" in shown["last_attempt"]["reason"]


def test_learned_priority_raises_what_operators_act_on_and_keeps_the_rule_score(db: Database) -> None:
    now = utcnow()
    rng = random.Random(3)
    with db.session() as s:
        for i in range(400):
            kind = ("credit_hold", "price_discrepancy")[i % 2]
            created = now - timedelta(days=100 - i * 0.24)
            quick = kind == "credit_hold" if rng.random() < 0.97 else kind != "credit_hold"
            case = Case(type=kind, severity="medium", status="resolved" if quick else "rejected",
                        partner_id="ACME", summary=kind, score=40.0, created_at=created,
                        details={"score": {"total": 40, "inputs": {"priority_tier": 2, "amount_at_risk": "100",
                                                                   "order_value": "1000"}}},
                        resolution="release_credit_hold" if quick else None, resolved_at=created + timedelta(hours=1))
            s.add(case)
            s.flush()
            s.add(CaseEvent(case_id=case.id, actor="apikey:ops", action="resolve" if quick else "reject",
                            at=created + timedelta(hours=1 if quick else 90)))
        s.add(Case(type="credit_hold", severity="medium", status="open", partner_id="ACME", summary="open hold",
                   score=40.0, details={"score": {"total": 40, "inputs": {"priority_tier": 2}}}))
    registry = ModelRegistry(db)
    pass_ = PriorityPass(db, registry)
    trained = pass_.train(now=now)
    assert trained["trained"], trained
    assert pass_.run() == 1
    with db.reader() as s:
        case = s.scalar(select(Case).where(Case.status == "open"))
        assert case is not None
        learned = case.details["priority"]
        assert learned["source"] == "model" and learned["model_version"] == trained["version"]
        assert 40 < case.score <= 60 and learned["rule_score"] == 40
        assert case.details["score"]["total"] == 40  # the rule score stays on the case
        assert any("case_type" in f[0] for f in learned["top_factors"])
        assert s.scalar(select(IntelDecision).where(IntelDecision.kind == "priority")) is not None
    assert pass_.run() == 0  # unchanged: not recorded again


def test_orders_that_stop_arriving_open_one_flow_anomaly_case(db: Database) -> None:
    now = datetime(2026, 11, 30, 13, 20, tzinfo=UTC)  # a Monday
    with db.session() as s:
        s.add(Partner(id="ACME", name="ACME", role="customer", profile={"id": "ACME"}))
        n = 0
        for week in range(1, 7):
            for day in range(5):
                for hour in range(8, 18):
                    for _ in range(6):
                        n += 1
                        at = now.replace(hour=hour, minute=5) - timedelta(weeks=week) + timedelta(days=day)
                        _doc(s, n, "purchase_order", "ACME", at, {"po_number": f"P{n}"})
        n += 1
        _doc(s, n, "purchase_order", "ACME", now.replace(hour=8, minute=10), {"po_number": "TODAY"})
    watch = FlowWatch(db, DbReferenceData(db))
    found = watch.detections(now=now)
    assert [f.evidence["direction"] for f in found if f.document == "850 from ACME"][:1] in (["drop"], ["missing"])
    assert watch.run(now=now) >= 1
    assert watch.run(now=now + timedelta(minutes=10)) == 0  # the same alert, once
    assert watch.detections(now=now + timedelta(days=1))  # still silent on Tuesday ...
    assert watch.run(now=now + timedelta(days=1)) == 0  # ... which is the same open case, not a new one
    with db.reader() as s:
        case = s.scalar(select(Case).where(Case.type == "flow_anomaly"))
        assert case is not None and case.partner_id == "ACME"
        assert "ACME sent 1 order" in case.summary and "a normal Monday has" in case.summary


def test_a_normal_day_opens_no_flow_case(db: Database) -> None:
    now = datetime(2026, 11, 30, 11, 20, tzinfo=UTC)
    with db.session() as s:
        n = 0
        for week in range(0, 7):
            for hour in range(8, 12):
                for _ in range(6):
                    n += 1
                    at = now.replace(hour=hour, minute=5) - timedelta(weeks=week)
                    if at < now:
                        _doc(s, n, "purchase_order", "ACME", at, {"po_number": f"P{n}"})
    assert FlowWatch(db, DbReferenceData(db)).run(now=now) == 0


def test_a_risk_pass_looks_up_the_last_predictions_in_a_few_queries_and_records_only_changes(db: Database) -> None:
    """Every open order is predicted each pass; the last prediction of each is looked up 500 at a
    time, not once per order, and a pass that finds nothing moved records nothing new."""
    now = utcnow()
    _registry, risk = _trained(db, now)
    with db.session() as s:
        for n in range(40):
            supplier = "LATECO" if n % 2 else "GOODCO"
            _doc(s, 9100 + n, "purchase_order", supplier, now - timedelta(hours=2), _order(f"PO-MANY-{n}", supplier),
                 direction="outbound", key=f"CROSSDOCK/PO-MANY-{n}")
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: seen.append(sql))
    risk.run(now=now)
    with db.reader() as s:
        first = s.scalar(select(func.count()).select_from(IntelDecision).where(IntelDecision.kind == "prediction"))
    looked_up = sum(1 for sql in seen if sql.lstrip().upper().startswith("SELECT") and "intel_decisions" in sql)
    seen.clear()
    risk.run(now=now + timedelta(minutes=1))
    again = sum(1 for sql in seen if sql.lstrip().upper().startswith("SELECT") and "intel_decisions" in sql)
    with db.reader() as s:
        second = s.scalar(select(func.count()).select_from(IntelDecision).where(IntelDecision.kind == "prediction"))
        subjects = {d.subject for d in s.scalars(select(IntelDecision).where(IntelDecision.kind == "prediction"))}
    assert first is not None and first >= 40 and {f"855 for purchase_order CROSSDOCK/PO-MANY-{n} rev 0"
                                                  for n in range(40)} <= subjects
    assert second == first  # nothing moved a minute later: no new rows
    assert looked_up <= 2 and again <= 2, (looked_up, again)
