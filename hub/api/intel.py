"""Exception intelligence: model cards, case explanations, agents, approvals and undo.

Viewers read model cards, explanations and decisions; operators run agents (a dry run too)
and undo; approving or rejecting a proposal needs the policy's approver role (the partner
profile's ``approvers``) or any operator when the policy names none; admins retrain models.
Every change is audited on the case.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from hub.api.deps import Admin, HubDep, Operator, ReadSession, Viewer
from hub.api.problems import Problem
from hub.intel.agents import AgentError, read
from hub.intel.models import card
from hub.ops.rules import may_approve
from hub.partners import partner_dict
from hub.storage.intel_tables import IntelDecision
from hub.storage.tables import Case
from pipelines.intelligence.agents import AGENTS

__all__ = ["router"]

router = APIRouter(tags=["intelligence"])
ModelName = Literal["sla_risk", "priority"]
_MODELS: tuple[ModelName, ...] = ("sla_risk", "priority")


@router.get("/api/v1/models", summary="Model cards: version, training window, metrics, drift, history")
def models(_: Viewer, s: ReadSession, hub: HubDep) -> dict[str, Any]:
    return {"items": [card(s, name, drift=hub.intel.drift(name)) for name in _MODELS]}


class RetrainRequest(BaseModel):
    models: list[ModelName] = Field(default_factory=lambda: list(_MODELS))


@router.post("/api/v1/models/retrain", summary="Retrain now (admin); a new version when there is enough history")
def retrain(body: RetrainRequest, _: Admin, hub: HubDep) -> dict[str, Any]:
    return {"results": [hub.intel.train(name) for name in body.models]}


@router.get("/api/v1/cases/{case_id}/explanation",
            summary="Why the case exists and ranks where it does, and every automated decision about it")
def explanation(case_id: int, _: Viewer, s: ReadSession) -> dict[str, Any]:
    case = s.get(Case, case_id)
    if case is None:
        raise Problem(404, "Not found", f"no case {case_id}")
    d = case.details or {}
    decisions = list(s.scalars(select(IntelDecision).where(IntelDecision.case_id == case_id)
                               .order_by(IntelDecision.id)))
    predictions = []
    if case.document_id is not None:
        predictions = [read(p) for p in s.scalars(
            select(IntelDecision).where(IntelDecision.kind == "prediction", IntelDecision.document_id == case.document_id)
            .order_by(IntelDecision.id.desc()).limit(20))]
    priority = d.get("priority") or {}
    return {
        "case_id": case.id, "type": case.type, "status": case.status, "summary": case.summary,
        "detection": d.get("detection"),
        "score": {"rank_by": case.score, "rule_score": (d.get("score") or {}).get("total"),
                  "rules": (d.get("score") or {}).get("explain", []),
                  "inputs": (d.get("score") or {}).get("inputs"), "learned": priority or None},
        "policy": d.get("policy"),
        "predictions": predictions,
        "decisions": [read(x) for x in decisions],
    }


@router.get("/api/v1/agents", summary="The resolution agents and the hub-wide agent policies")
def agents(_: Viewer, hub: HubDep) -> dict[str, Any]:
    return {"mode": hub.settings.agents_mode, "policies": hub.settings.agent_policies,
            "agents": [{"name": a.name, "case_types": list(a.case_types), "description": a.description}
                       for a in AGENTS]}


@router.post("/api/v1/agents/run", summary="Run the agents now; dry_run=true only records what they would do")
def run_agents(who: Operator, hub: HubDep, dry_run: bool = Query(False),
               case_id: list[int] | None = Query(None)) -> dict[str, Any]:
    return {"dry_run": dry_run, "decisions": hub.intel.agents.run(dry_run=dry_run, case_ids=case_id,
                                                                  actor=who.actor)}


@router.get("/api/v1/agents/decisions", summary="Agent decisions, newest first (filter by status, agent, case)")
def decisions(_: Viewer, s: ReadSession, status: str | None = None, agent: str | None = None,
              case_id: int | None = None, kind: str = "agent",
              limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    stmt = select(IntelDecision).where(IntelDecision.kind == kind)
    for column, value in ((IntelDecision.status, status), (IntelDecision.agent, agent),
                          (IntelDecision.case_id, case_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    return {"items": [read(d) for d in s.scalars(stmt.order_by(IntelDecision.id.desc()).limit(limit))]}


class DecisionRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=2000)


def _check_approver(s: Any, decision_id: int, who: Any) -> None:
    d = s.get(IntelDecision, decision_id)
    if d is None or d.kind != "agent":
        raise Problem(404, "Not found", f"no agent decision {decision_id}")
    role = (d.policy or {}).get("approver_role")
    profile = partner_dict(s, d.partner_id) if d.partner_id else None
    if not may_approve(profile, role, name=who.name, role=who.role):
        raise Problem(403, "Forbidden", f"decision {decision_id} needs the {role} role (partner {d.partner_id}); "
                      f"key {who.name!r} does not hold it")


def _act(fn: Any, decision_id: int, who: Any, reason: str) -> dict[str, Any]:
    try:
        out: dict[str, Any] = fn(decision_id, actor=who.actor, reason=reason)
    except LookupError as exc:
        raise Problem(404, "Not found", str(exc)) from None
    except AgentError as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    return out


@router.post("/api/v1/agents/decisions/{decision_id}/approve", summary="Approve a proposal: it runs as you (audited)")
def approve(decision_id: int, body: DecisionRequest, who: Operator, s: ReadSession, hub: HubDep) -> dict[str, Any]:
    _check_approver(s, decision_id, who)
    return _act(hub.intel.agents.approve, decision_id, who, body.reason)


@router.post("/api/v1/agents/decisions/{decision_id}/reject", summary="Reject a proposal: nothing runs (audited)")
def reject(decision_id: int, body: DecisionRequest, who: Operator, s: ReadSession, hub: HubDep) -> dict[str, Any]:
    _check_approver(s, decision_id, who)
    return _act(hub.intel.agents.reject, decision_id, who, body.reason)


@router.post("/api/v1/agents/decisions/{decision_id}/undo",
             summary="Undo an executed action where it is still possible (audited)")
def undo(decision_id: int, body: DecisionRequest, who: Operator, hub: HubDep) -> dict[str, Any]:
    return _act(hub.intel.agents.undo, decision_id, who, body.reason)
