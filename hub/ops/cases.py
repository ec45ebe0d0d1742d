"""The case queue: opening scored cases from detections, and every change people make.

A case stores its detection (``Detection.as_dict()``), the score with its inputs and each
rule's contribution, the policy decision, the recommended action, related documents, the
owner queue and when it is due. Every change writes a ``case_events`` row and the audit log
in the same transaction.

Statuses: ``open`` → (``assigned``) → ``resolved`` | ``rejected``; ``awaiting_approval`` →
``approved`` | ``rejected``; ``auto_resolved`` when a policy resolved it on arrival.

Usage:
    ids = open_cases(s, found, partner_id="ACME", job_id=7, inbox_id=3, refdata=ref)
    resolve(s, case, actor="apikey:ops", action="accept_price_difference", reason="agreed by phone")
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hub.ops.stages import Found
from hub.storage.audit import record_audit
from hub.storage.ops_tables import CaseEvent
from hub.storage.tables import Case, utcnow
from pipelines.exceptions import PolicyAction, exception_type, inputs_for, score

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pipelines.refdata import ReferenceData

__all__ = ["CLOSED", "CaseStateError", "event", "open_cases"]

CLOSED = ("resolved", "rejected", "approved", "auto_resolved")
POLICY_ACTOR = "policy"


class CaseStateError(Exception):
    """The case is not in a state that allows the change."""


def event(s: Session, case: Case, *, actor: str, action: str, reason: str | None = None,
          details: dict[str, Any] | None = None, audit: bool = True) -> None:
    s.add(CaseEvent(case_id=case.id, actor=actor, action=action, reason=reason, details=details or {}))
    if audit:
        record_audit(s, actor=actor, action=f"case.{action}", target_type="case", target_id=case.id,
                     reason=reason, details={"type": case.type, **(details or {})})


def open_cases(s: Session, found: list[Found], *, partner_id: str | None, refdata: ReferenceData,
               job_id: int | None = None, inbox_id: int | None = None,
               document_id: int | None = None) -> list[int]:
    """One case per detection, scored and decided; auto-resolved ones are closed on arrival."""
    now = utcnow()
    ids = []
    for f in found:
        d, decision = f.detection, f.decision
        kind = exception_type(d.code)
        customer = refdata.customer(d.partner or partner_id or "")
        value = Decimal(f.order_value) if f.order_value else None
        result = score(inputs_for(d, now=now, customer=customer, order_value=value))
        status = {PolicyAction.AUTO_RESOLVE: "auto_resolved",
                  PolicyAction.NEEDS_APPROVAL: "awaiting_approval"}.get(decision.action, "open")
        details = {
            "detection": d.as_dict(), "category": kind.category.value, "title": kind.title,
            "recommended_action": d.recommended_action, "actions": list(kind.action_names),
            "related": list(d.related),
            "score": {"total": result.total, "explain": result.explain(),
                      "inputs": {"severity": result.inputs.severity.value,
                                 "priority_tier": result.inputs.priority_tier,
                                 "amount_at_risk": str(result.inputs.amount_at_risk),
                                 "order_value": str(result.inputs.order_value),
                                 "hours_to_due": str(result.inputs.hours_to_due),
                                 "margin_at_risk": str(result.inputs.margin_at_risk)},
                      "contributions": [{"rule": c.rule, "input": c.input, "value": None if c.value is None
                                         else str(c.value), "points": c.points, "reason": c.reason}
                                        for c in result.contributions]},
            "policy": {"action": decision.action.value, "reason": decision.reason,
                       "approver_role": decision.approver_role, "resolution": decision.resolution},
        }
        case = Case(type=d.code, severity=d.severity.value, status=status, partner_id=partner_id or d.partner,
                    document_id=document_id, inbox_id=inbox_id, job_id=job_id, summary=d.message[:2000],
                    details=details, score=float(result.total), owner=kind.owner.value,
                    due_at=now + timedelta(hours=kind.sla_hours), business_key=f.business_key,
                    approver_role=decision.approver_role)
        if status == "auto_resolved":
            case.resolution, case.resolved_at = decision.resolution, now
        s.add(case)
        s.flush()
        event(s, case, actor="crossdock", action="opened", details={"score": result.total}, audit=False)
        if status == "auto_resolved":
            event(s, case, actor=POLICY_ACTOR, action="auto_resolved", reason=decision.reason,
                  details={"resolution": decision.resolution})
        ids.append(case.id)
    return ids
