"""Resolution agents in the hub: a scheduled pass over open cases, the policies that decide,
execution through the hub's own flows, approvals, undo, and the audit of every step.

Each pass reads the open cases nobody has taken yet (an assigned case is a person's), asks
the agents (``pipelines.intelligence.agents``) for proposals, and decides each one by policy: the hub-wide ``agent_policies`` setting, then the
partner profile's ``agents`` (more specific rules win). Every proposal becomes one
``intel_decisions`` row with its inputs, confidence, policy and outcome, plus a case event
and an audit entry:

* ``executed``: the policy allowed it; the action ran as ``agent:<name>``.
* ``awaiting_approval``: a person approves (``POST /api/v1/agents/decisions/{id}/approve``)
  and the action runs as that person, or rejects it.
* ``refused``: a ``never`` policy; nothing runs.
* ``dry_run``: ``agents_mode: dry_run`` (or ``POST /api/v1/agents/run?dry_run=true``): what
  the agent would have done under the policies, and nothing done.

Actions go through the same paths as a person's: resolving a case that stopped a document
releases the document, which then goes on exactly once through its normal write-back
(``accept_price_difference``, ``split_ship_from_alternate_warehouse``, ``release_credit_hold``);
``request_855_again`` sends the order to the supplier once more in a new interchange and
keeps the case open until the 855 arrives (at most twice, a day apart). Actions Crossdock
cannot carry out itself (``switch_to_fallback_carrier``: Crossdock books no shipments) always
go to a person, whose approval records that it was done.

Undo, where it is still possible: a released document whose job has not run yet is stopped
again and its case reopened; a re-request still queued is cancelled. Once the document went on
(or the interchange was sent) undo is refused with what exists and where to reverse it.

Usage:
    runner = AgentRunner(db, settings, submit=runtime.submit)
    runner.run()                       # the scheduled pass
    runner.run(dry_run=True)           # what would happen, nothing done
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import or_, select, update

from canonical.documents import PurchaseOrder
from hub.edi.outbound import queue_resend
from hub.ops import case_flows
from hub.ops.cases import CLOSED, CaseStateError, event
from hub.partners import partner_dict
from hub.runtime.relay import HANDED_BACK
from hub.storage.edi_tables import EdiOutbound
from hub.storage.intel_tables import IntelDecision
from hub.storage.tables import Case, Document, InboxEntry, Job, utcnow
from pipelines.intelligence.agents import (
    AgentPolicy,
    CaseView,
    Proposal,
    decide_proposal,
    parse_agent_policies,
    propose,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hub.settings import Settings
    from hub.storage.db import Database

__all__ = ["EXECUTABLE", "AgentError", "AgentRunner", "policies_for"]

log = structlog.get_logger("crossdock.agents")

RESOLVING = frozenset({"accept_price_difference", "split_ship_from_alternate_warehouse", "release_credit_hold"})
EXECUTABLE = RESOLVING | {"request_855_again"}
_BLOCKING = ("executed", "awaiting_approval", "refused", "rejected", "undone", "failed")
_REPEAT_AFTER = timedelta(hours=24)  # a re-request of a missing 855 is repeated at most once a day
_LOOKBACK = timedelta(days=30)


class AgentError(Exception):
    """The decision is not in a state that allows the change, or the action cannot be undone."""


def policies_for(settings: Settings, profile: Mapping[str, Any] | None) -> tuple[AgentPolicy, ...]:
    """Hub-wide rules, then the partner's own (scoped to that partner)."""
    partner = (profile or {}).get("id")
    rows = [*settings.agent_policies, *({**r, "partner": partner} for r in (profile or {}).get("agents") or [])]
    return parse_agent_policies(rows)


def _view(s: Session, case: Case) -> CaseView:
    detection = (case.details or {}).get("detection") or {}
    amount = detection.get("amount_at_risk")
    facts: dict[str, Any] = {"document": detection.get("document")}
    if case.partner_id:
        profile = partner_dict(s, case.partner_id) or {}
        facts["fallback_carrier"] = profile.get("fallback_carrier")
    facts["times_requested"] = len(list(s.scalars(select(IntelDecision.id).where(
        IntelDecision.kind == "agent", IntelDecision.case_id == case.id, IntelDecision.status == "executed",
        IntelDecision.action == "request_855_again"))))
    return CaseView(case.id, case.type, case.partner_id, case.severity, case.status,
                    detection.get("evidence") or {}, Decimal(str(amount)) if amount is not None else None, facts)


class AgentRunner:
    def __init__(self, db: Database, settings: Settings, *, submit: Callable[[int], None] | None = None) -> None:
        self.db = db
        self.settings = settings
        self.submit = submit or (lambda _job: None)

    # --- the pass -------------------------------------------------------------------------

    def run(self, *, dry_run: bool | None = None, case_ids: list[int] | None = None,
            actor: str = "crossdock") -> list[dict[str, Any]]:
        """One pass; returns the decisions it recorded (as the API shows them)."""
        if self.settings.agents_mode == "off" and not dry_run:
            return []
        dry = self.settings.agents_mode == "dry_run" if dry_run is None else dry_run
        now = utcnow()
        out: list[dict[str, Any]] = []
        released: list[int] = []
        with self.db.session() as s:
            # open cases only: one a person has taken (assigned) is theirs
            stmt = select(Case).where(Case.status == "open", Case.created_at >= now - _LOOKBACK)
            if case_ids:
                stmt = select(Case).where(Case.id.in_(case_ids))
            for case in s.scalars(stmt.order_by(Case.score.desc(), Case.id).limit(500)):
                if case.status in CLOSED:
                    continue
                for proposal in propose(_view(s, case)):
                    if not self._due(s, case, proposal, dry=dry, now=now):
                        continue
                    decision = self._decide(s, case, proposal, dry=dry, actor=actor)
                    if decision.status == "executing":
                        job = self._execute(s, case, decision, actor=f"agent:{proposal.agent}")
                        if job is not None:
                            released.append(job)
                    out.append(read(decision))
                    if case.status in CLOSED:
                        break  # one action closes a case; the next agent would act on a closed case
        for job in released:
            self.submit(job)
        if out:
            log.info("agents.decided", count=len(out), dry_run=dry,
                     executed=sum(1 for d in out if d["status"] == "executed"))
        return out

    @staticmethod
    def _due(s: Session, case: Case, proposal: Proposal, *, dry: bool, now: datetime) -> bool:
        """Whether this agent still has something to say about this case."""
        rows = list(s.scalars(select(IntelDecision).where(
            IntelDecision.kind == "agent", IntelDecision.case_id == case.id,
            IntelDecision.agent == proposal.agent).order_by(IntelDecision.id.desc())))
        if dry:
            return not rows  # a dry run reports each proposal once
        live = [r for r in rows if r.status in _BLOCKING]
        if not live:
            return True
        last = live[0]
        # a re-request that got no answer may be repeated after a day (the agent stops after two)
        return last.status == "executed" and last.action == "request_855_again" and last.at <= now - _REPEAT_AFTER

    def _decide(self, s: Session, case: Case, proposal: Proposal, *, dry: bool, actor: str) -> IntelDecision:
        profile = partner_dict(s, case.partner_id) if case.partner_id else None
        verdict = decide_proposal(proposal, policies_for(self.settings, profile), case_type=case.type,
                                  partner=case.partner_id, severity=case.severity)
        if verdict.mode == "auto" and proposal.action not in EXECUTABLE:
            verdict = replace(verdict, mode="approval", reason=f"{verdict.reason}; Crossdock cannot "
                              f"{proposal.action.replace('_', ' ')} itself, so a person does it and approves")
        status = "dry_run" if dry else {"auto": "executing", "approval": "awaiting_approval",
                                        "never": "refused"}[verdict.mode]
        decision = IntelDecision(
            kind="agent", subject=f"case {case.id} ({case.type})", case_id=case.id, document_id=case.document_id,
            partner_id=case.partner_id, agent=proposal.agent, source="rules", confidence=proposal.confidence,
            value=proposal.confidence, inputs={**proposal.inputs, "case": {"type": case.type, "severity": case.severity,
                                                                         "partner": case.partner_id}},
            features={}, policy=verdict.as_dict(), action=proposal.action, status=status,
            outcome={"rationale": proposal.rationale, "params": dict(proposal.params),
                     "amount": None if proposal.amount is None else str(proposal.amount)})
        s.add(decision)
        s.flush()
        if not dry:
            what = {"executing": "agent_acting", "awaiting_approval": "agent_proposed", "refused": "agent_refused"}
            event(s, case, actor=f"agent:{proposal.agent}", action=what[status],
                  reason=f"{proposal.action} ({proposal.confidence:.2f}): {proposal.rationale}; {verdict.reason}",
                  details={"decision_id": decision.id, "policy": verdict.mode})
        return decision

    # --- carrying out ---------------------------------------------------------------------

    def _execute(self, s: Session, case: Case, decision: IntelDecision, *, actor: str) -> int | None:
        """Run the decision's action; returns a released job id to submit after commit."""
        action = decision.action or ""
        reason = f"{decision.agent}: {decision.outcome.get('rationale')}"
        result: dict[str, Any] = {}
        released: int | None = None
        try:
            if action in RESOLVING:
                released = case_flows.resolve(s, case, actor=actor, action=action, reason=reason)
                result = {"case_status": case.status, "released_job_id": released}
            elif action == "request_855_again":
                result = self._rerequest(s, case)
            else:  # a person did it; the approval records that
                case_flows.resolve(s, case, actor=actor, action=action, reason=reason)
                result = {"case_status": case.status, "performed_by": actor}
        except (CaseStateError, AgentError) as exc:
            decision.status = "failed"
            decision.outcome = {**decision.outcome, "error": str(exc)}
            event(s, case, actor=actor, action="agent_failed", reason=str(exc), details={"decision_id": decision.id})
            return None
        decision.status = "executed"
        decision.outcome = {**decision.outcome, **result, "executed_at": utcnow().isoformat(), "executed_by": actor}
        event(s, case, actor=actor, action="agent_executed", reason=f"{action}: {reason}",
              details={"decision_id": decision.id, **{k: v for k, v in result.items() if v is not None}})
        return released

    @staticmethod
    def _rerequest(s: Session, case: Case) -> dict[str, Any]:
        stored = s.scalar(select(Document).where(
            Document.business_key == case.business_key, Document.document_type == "purchase_order",
            Document.direction == "outbound", Document.partner_id == case.partner_id).order_by(Document.id.desc()))
        if stored is None:
            raise AgentError(f"no purchase order {case.business_key} was sent to {case.partner_id} by EDI; "
                             "ask the supplier another way")
        profile = partner_dict(s, case.partner_id or "") or {}
        row = queue_resend(s, profile, stored, PurchaseOrder.model_validate(stored.canonical))
        return {"edi_outbound_id": row.id, "interchange_control": row.interchange_control,
                "case_status": case.status}

    # --- people ---------------------------------------------------------------------------

    def approve(self, decision_id: int, *, actor: str, reason: str) -> dict[str, Any]:
        with self.db.session() as s:
            decision = self._claim(s, decision_id, "awaiting_approval", "executing")
            case = s.get(Case, decision.case_id)
            if case is None or case.status in CLOSED:
                decision.status = "failed"
                decision.outcome = {**decision.outcome, "error": "the case is closed already"}
                raise AgentError(f"case {decision.case_id} is closed already; decision {decision_id} not executed")
            decision.approved_by = actor
            event(s, case, actor=actor, action="agent_approved", reason=reason, details={"decision_id": decision.id})
            released = self._execute(s, case, decision, actor=actor)
            out = read(decision)
        if released is not None:
            self.submit(released)
        return out

    def reject(self, decision_id: int, *, actor: str, reason: str) -> dict[str, Any]:
        with self.db.session() as s:
            decision = self._claim(s, decision_id, "awaiting_approval", "rejected")
            decision.approved_by = actor
            decision.outcome = {**decision.outcome, "rejected_because": reason}
            case = s.get(Case, decision.case_id)
            if case is not None:
                event(s, case, actor=actor, action="agent_rejected", reason=reason,
                      details={"decision_id": decision.id})
            return read(decision)

    def undo(self, decision_id: int, *, actor: str, reason: str) -> dict[str, Any]:
        with self.db.session() as s:
            decision = self._claim(s, decision_id, "executed", "undoing")
            case = s.get(Case, decision.case_id)
            assert case is not None
            try:
                detail = self._reverse(s, case, decision)
            except AgentError:
                s.rollback()
                raise
            decision.status = "undone"
            decision.outcome = {**decision.outcome, "undone_by": actor, "undone_because": reason, **detail}
            event(s, case, actor=actor, action="agent_undone", reason=reason,
                  details={"decision_id": decision.id, **detail})
            return read(decision)

    @staticmethod
    def _reverse(s: Session, case: Case, decision: IntelDecision) -> dict[str, Any]:
        out = decision.outcome or {}
        if decision.action == "request_855_again":
            done = s.execute(update(EdiOutbound).where(EdiOutbound.id == out.get("edi_outbound_id"),
                                                       EdiOutbound.status == "queued")
                             .values(status="cancelled", ack_status="not_expected"))
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise AgentError(f"interchange {out.get('interchange_control')} was sent to {case.partner_id} "
                                 "already; it cannot be called back")
            return {"cancelled_edi_outbound_id": out.get("edi_outbound_id")}
        job_id = out.get("released_job_id")
        if job_id is not None:
            stopped = s.execute(update(Job).where(Job.id == job_id, Job.status == "queued", or_(
                Job.published_at.is_(None), Job.published_at == HANDED_BACK))
                                .values(status="done", finished_at=utcnow()))
            if stopped.rowcount != 1:  # type: ignore[attr-defined]
                doc = s.get(Document, case.document_id) if case.document_id else None
                erp = f"; ERP document {doc.erp_document_number} exists: reverse it in the ERP" \
                    if doc is not None and doc.erp_document_number else ""
                raise AgentError(f"the document released by case {case.id} went on already (job {job_id}){erp}")
            job = s.get(Job, job_id)
            entry = s.get(InboxEntry, job.inbox_id) if job is not None else None
            if entry is not None:
                meta = dict(entry.meta)
                meta["accepted_exceptions"] = [c for c in meta.get("accepted_exceptions", []) if c != case.type]
                entry.meta, entry.status = meta, "processed"
        case.status, case.resolution, case.resolved_at = "open", None, None
        return {"case_status": "open", "stopped_job_id": job_id}

    @staticmethod
    def _claim(s: Session, decision_id: int, expected: str, to: str) -> IntelDecision:
        """Move the decision from ``expected`` to ``to`` only if no one else did (two approvers)."""
        decision = s.get(IntelDecision, decision_id)
        if decision is None or decision.kind != "agent":
            raise LookupError(f"no agent decision {decision_id}")
        done = s.execute(update(IntelDecision).where(IntelDecision.id == decision_id,
                                                     IntelDecision.status == expected).values(status=to))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            s.refresh(decision)
            raise AgentError(f"decision {decision_id} is {decision.status}, not {expected}")
        s.refresh(decision)
        return decision


def read(d: IntelDecision) -> dict[str, Any]:
    """A decision as the API shows it."""
    return {"id": d.id, "at": d.at, "kind": d.kind, "subject": d.subject, "case_id": d.case_id,
            "document_id": d.document_id, "partner_id": d.partner_id, "agent": d.agent,
            "model_name": d.model_name, "model_version": d.model_version, "source": d.source,
            "confidence": d.confidence, "value": d.value, "inputs": d.inputs, "features": d.features,
            "policy": d.policy, "action": d.action, "status": d.status, "approved_by": d.approved_by,
            "outcome": d.outcome, "warning": d.warning}

