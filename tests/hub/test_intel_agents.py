"""Resolution agents in the hub (SQLite and PostgreSQL): policies decide execute / approve /
refuse, actions go through the case flows, approvals, undo, dry runs; all audited."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from canonical.documents import PurchaseOrder
from hub.edi.outbound import queue_document
from hub.intel.agents import AgentError, AgentRunner
from hub.ops.cases import open_cases
from hub.ops.refdata import DbReferenceData
from hub.ops.stages import Found
from hub.settings import Settings
from hub.storage.db import Database
from hub.storage.edi_tables import EdiOutbound
from hub.storage.intel_tables import IntelDecision
from hub.storage.ops_tables import CaseEvent
from hub.storage.tables import AuditEntry, Case, InboxEntry, Job, Partner
from pipelines.exceptions import PolicyAction, PolicyDecision, Severity
from pipelines.exceptions.model import detection


def _partner(db: Database, pid: str = "ACME", **profile: Any) -> None:
    with db.session() as s:
        s.add(Partner(id=pid, name=pid, role=profile.pop("role", "customer"), profile={"id": pid, **profile}))


def _price_case(db: Database, *, diff: str = "0.4", severity: Severity | None = None, partner: str = "ACME") -> int:
    """A price discrepancy that stopped an order (its job is done, waiting on the case)."""
    with db.session() as s:
        entry = InboxEntry(partner_id=partner, channel="http", sha256="0" * 64, size=2, raw=b"{}", status="processed")
        s.add(entry)
        s.flush()
        job = Job(kind="ingest", inbox_id=entry.id, partner_id=partner, status="done", payload={})
        s.add(job)
        s.flush()
        found = detection("price_discrepancy", f"purchase_order {partner}/PO-1 rev 0", "price differs",
                          severity=severity, partner=partner, path="lines[0].unit_price",
                          evidence={"difference_percent": Decimal(diff), "tolerance_percent": Decimal("1")},
                          amount_at_risk=Decimal("4.80"), currency="EUR")
        ids = open_cases(s, [Found(found, PolicyDecision(PolicyAction.MANUAL, "no policy"), f"{partner}/PO-1")],
                         partner_id=partner, refdata=DbReferenceData(db), job_id=job.id, inbox_id=entry.id)
        return ids[0]


def _runner(db: Database, policies: list[dict[str, Any]] | None = None, mode: str = "live") -> tuple[AgentRunner,
                                                                                                  list[int]]:
    submitted: list[int] = []
    settings = Settings(agent_policies=policies or [], agents_mode=mode)  # type: ignore[arg-type]
    return AgentRunner(db, settings, submit=submitted.append), submitted


def _audit(db: Database, case_id: int) -> list[str]:
    with db.reader() as s:
        return [a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.target_type == "case",
                                                                      AuditEntry.target_id == str(case_id))
                                            .order_by(AuditEntry.id))]


def test_the_same_proposal_is_executed_sent_for_approval_or_refused_by_policy(db: Database) -> None:
    _partner(db, "ACME", agents=[{"agent": "price_within_tolerance", "mode": "auto", "max_amount": "10"}])
    _partner(db, "BETA", agents=[{"agent": "price_within_tolerance", "mode": "approval",
                                  "approver_role": "pricing-manager"}])
    _partner(db, "GAMMA", agents=[{"agent": "*", "case_type": "price_discrepancy", "mode": "never"}])
    cases = {p: _price_case(db, partner=p) for p in ("ACME", "BETA", "GAMMA")}
    runner, submitted = _runner(db)
    decisions = {d["partner_id"]: d for d in runner.run()}
    assert {p: d["status"] for p, d in decisions.items()} == {
        "ACME": "executed", "BETA": "awaiting_approval", "GAMMA": "refused"}
    assert {d["action"] for d in decisions.values()} == {"accept_price_difference"}
    assert decisions["ACME"]["policy"]["mode"] == "auto" and "amount 4.80 ≤ 10" in decisions["ACME"]["policy"]["reason"]
    assert decisions["BETA"]["policy"]["approver_role"] == "pricing-manager"
    with db.reader() as s:
        acme, beta, gamma = (s.get(Case, cases[p]) for p in ("ACME", "BETA", "GAMMA"))
        assert acme is not None and beta is not None and gamma is not None
        assert (acme.status, acme.resolution) == ("resolved", "accept_price_difference")
        job = s.get(Job, acme.job_id)
        assert job is not None and job.status == "queued"  # the stopped order goes on through its write-back
        entry = s.get(InboxEntry, job.inbox_id)
        assert entry is not None and entry.meta["accepted_exceptions"] == ["price_discrepancy"]
        assert beta.status == "open" and gamma.status == "open"
        refused = s.scalars(select(CaseEvent).where(CaseEvent.case_id == gamma.id, CaseEvent.action == "agent_refused"))
        assert "never lets price_within_tolerance act" in (next(iter(refused)).reason or "")
        released = acme.job_id
    assert submitted == [released]
    assert "case.agent_executed" in _audit(db, cases["ACME"])
    assert "case.agent_proposed" in _audit(db, cases["BETA"])
    assert "case.agent_refused" in _audit(db, cases["GAMMA"])
    # a second pass decides nothing again
    assert runner.run() == []


def test_an_approved_proposal_runs_as_the_approver_once(db: Database) -> None:
    _partner(db)
    case_id = _price_case(db)
    runner, submitted = _runner(db)  # no policy: every proposal waits for a person
    [proposal] = runner.run()
    assert proposal["status"] == "awaiting_approval" and "no agent policy" in proposal["policy"]["reason"]
    done = runner.approve(proposal["id"], actor="apikey:lead", reason="checked the contract")
    assert done["status"] == "executed" and done["approved_by"] == "apikey:lead"
    assert done["outcome"]["executed_by"] == "apikey:lead"
    with pytest.raises(AgentError, match="is executed, not awaiting_approval"):
        runner.approve(proposal["id"], actor="apikey:other", reason="twice")
    assert len(submitted) == 1
    assert _audit(db, case_id)[-3:] == ["case.agent_approved", "case.resolve", "case.agent_executed"]


def test_limits_send_an_auto_policy_to_approval(db: Database) -> None:
    _partner(db, agents=[{"agent": "price_within_tolerance", "mode": "auto", "max_amount": "1"}])
    _price_case(db)
    _price_case(db, diff="0.95")  # confidence 0.62 < 0.8
    _price_case(db, severity=Severity.CRITICAL)
    runner, _ = _runner(db)
    reasons = sorted(d["policy"]["reason"].split(": ", 1)[1] for d in runner.run())
    assert all(d["status"] == "awaiting_approval" for d in runner.run(dry_run=True)) is True
    assert reasons == ["a critical case is never executed automatically", "amount 4.80 > 1",
                       "confidence 0.62 < 0.80"]


def test_a_dry_run_records_what_would_happen_and_does_nothing(db: Database) -> None:
    _partner(db, agents=[{"agent": "price_within_tolerance", "mode": "auto"}])
    case_id = _price_case(db)
    runner, submitted = _runner(db, mode="dry_run")
    [would] = runner.run()
    assert would["status"] == "dry_run" and would["policy"]["mode"] == "auto"
    assert runner.run() == []  # reported once
    with db.reader() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.status == "open"
    assert submitted == [] and _audit(db, case_id) == []
    live, _ = _runner(db)
    assert [d["status"] for d in live.run()] == ["executed"]  # a dry run does not block the live decision


def test_undo_stops_a_released_order_that_has_not_run_and_refuses_once_it_ran(db: Database) -> None:
    _partner(db, agents=[{"agent": "price_within_tolerance", "mode": "auto"}])
    first, second = _price_case(db), _price_case(db)
    runner, _ = _runner(db)
    done = {d["case_id"]: d for d in runner.run()}
    undone = runner.undo(done[first]["id"], actor="apikey:lead", reason="customer withdrew the price")
    assert undone["status"] == "undone" and undone["outcome"]["case_status"] == "open"
    with db.reader() as s:
        case = s.get(Case, first)
        assert case is not None and (case.status, case.resolution) == ("open", None)
        job = s.get(Job, case.job_id)
        assert job is not None and job.status == "done"
        entry = s.get(InboxEntry, job.inbox_id)
        assert entry is not None and entry.meta["accepted_exceptions"] == []
    with pytest.raises(AgentError, match="is undone, not executed"):
        runner.undo(done[first]["id"], actor="apikey:lead", reason="again")
    with db.session() as s:  # the second order went on in the meantime
        case = s.get(Case, second)
        assert case is not None
        job = s.get(Job, case.job_id)
        assert job is not None
        job.status = "done"
    with pytest.raises(AgentError, match="went on already"):
        runner.undo(done[second]["id"], actor="apikey:lead", reason="too late")
    with db.reader() as s:
        kept = s.scalar(select(IntelDecision).where(IntelDecision.id == done[second]["id"]))
        assert kept is not None and kept.status == "executed"


ACME_EDI = {"standard": "x12", "version": "004010", "interchange_id": "SUPP", "interchange_qualifier": "ZZ",
            "our_interchange_id": "CROSSDOCK", "our_interchange_qualifier": "ZZ", "functional_ack": "997",
            "transport": "directory", "outbound_dir": "var/outbound/SUPP"}


def test_a_missing_855_is_requested_again_in_a_new_interchange_and_undone_while_queued(db: Database) -> None:
    _partner(db, "SUPP", role="supplier", edi=ACME_EDI, agents=[{"agent": "rerequest_855", "mode": "auto"}])
    po = PurchaseOrder.model_validate({"po_number": "PO-77", "order_date": "2026-11-30", "buyer": {"id": "CROSSDOCK"},
                                       "seller": {"id": "SUPP"},
                                       "lines": [{"line_number": "1", "vendor_item": "W-1", "quantity": "5"}]})
    with db.session() as s:
        from hub.partners import partner_dict

        first = queue_document(s, partner_dict(s, "SUPP") or {}, po)
        first.status = "sent"
        found = detection("missing_855", f"purchase_order {po.business_key} rev 0", "no 855 after 30 h",
                          partner="SUPP", evidence={"hours_overdue": Decimal("6")})
        [case_id] = open_cases(s, [Found(found, PolicyDecision(PolicyAction.MANUAL, "none"), po.business_key)],
                               partner_id="SUPP", refdata=DbReferenceData(db))
        first_control = first.interchange_control
    runner, _ = _runner(db)
    [done] = runner.run()
    assert done["status"] == "executed" and done["action"] == "request_855_again"
    with db.reader() as s:
        rows = list(s.scalars(select(EdiOutbound).where(EdiOutbound.po_number == "PO-77").order_by(EdiOutbound.id)))
        assert len(rows) == 2 and rows[1].interchange_control != first_control
        assert rows[1].document_id == rows[0].document_id and rows[1].status == "queued"
        assert b"PO-77" in rows[1].raw
        case = s.get(Case, case_id)
        assert case is not None and case.status == "open"  # open until the 855 arrives
    assert runner.run() == []  # not again within a day
    runner.undo(done["id"], actor="apikey:lead", reason="supplier called back")
    with db.reader() as s:
        assert s.scalar(select(EdiOutbound.status).where(EdiOutbound.id == done["outcome"]["edi_outbound_id"])) \
            == "cancelled"


def test_a_case_a_person_has_taken_is_left_to_them(db: Database) -> None:
    _partner(db, agents=[{"agent": "price_within_tolerance", "mode": "auto"}])
    case_id = _price_case(db)
    with db.session() as s:
        case = s.get(Case, case_id)
        assert case is not None
        case.status, case.owner = "assigned", "maria"
    runner, submitted = _runner(db)
    assert runner.run() == [] and submitted == []
