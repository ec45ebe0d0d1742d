"""What the hub reads from a partner profile for detection, policies and resends.

Profile keys (all optional; a partner profile allows extra keys):

* ``exceptions``: ``PartnerRules`` fields; ``sla_hours`` and ``revision_wait_hours`` may be
  fractional here (0.001 h),
  which is how a test or a very fast partner gets a short SLA. The "same content, new PO
  number" duplicate rule runs only when ``duplicate_window_days`` is set.
* ``policies``: ``PolicyRule`` rows (auto-resolve below, approval below, approver role).
* ``approvers``: ``{"pricing-manager": ["alice", "bob"]}``: API key names that hold a role
  (admins may approve anything).
* ``resend``: ``"case"`` (default) or ``"acknowledge"``: a resend of a known document with
  other content is a duplicate-order case, or acknowledged and not processed again.
* ``transfers``: ``{"transit_days": 5}`` for an internal partner: how long a stock transfer's
  ship notice may wait for a ``delivered`` shipment status before it is a case.
* ``record_maps``: ``{"purchase_order": "webshop_order"}``: payloads of that type are read
  with the named record map (JSON or CSV) instead of as canonical JSON.

Usage:
    rules = partner_rules(profile)
    policies = partner_policies(profile)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, cast

from canonical.errors import ConfigurationError
from pipelines.exceptions import PartnerRules, PolicyRule, parse_policies
from pipelines.exceptions.model import DEFAULT_SLA_HOURS

__all__ = ["DISABLED_WINDOW", "may_approve", "partner_policies", "partner_rules"]

DISABLED_WINDOW = -1


def partner_rules(profile: Mapping[str, Any] | None) -> PartnerRules:
    profile = dict(profile or {})
    section = dict(profile.get("exceptions") or {})
    sla = section.pop("sla_hours", None) or {}
    wait = section.pop("revision_wait_hours", None)
    rules = PartnerRules.from_profile({**profile, "exceptions": section})
    if wait is not None:
        rules = dataclasses.replace(rules, revision_wait_hours=cast(int, _hours(wait, profile)))
    if "duplicate_window_days" not in section:
        rules = dataclasses.replace(rules, duplicate_window_days=DISABLED_WINDOW)
    if sla:
        hours = {str(k): _hours(v, profile) for k, v in dict(sla).items()}
        merged = {**DEFAULT_SLA_HOURS, **hours}
        rules = dataclasses.replace(rules, sla_hours=cast(dict[str, int], merged))
    return rules


def _hours(value: Any, profile: Mapping[str, Any]) -> float:
    try:
        hours = float(value)
    except (TypeError, ValueError):
        hours = -1.0
    if hours < 0:
        raise ConfigurationError(f"partner {profile.get('id')!r}: {value!r} is not a number of hours",
                                 code="partner.invalid_exception_rules", partner=str(profile.get("id")))
    return hours


def partner_policies(profile: Mapping[str, Any] | None) -> tuple[PolicyRule, ...]:
    rows = (profile or {}).get("policies") or []
    partner = (profile or {}).get("id")
    return parse_policies([{**r, "partner": r.get("partner", partner)} for r in rows])


def may_approve(profile: Mapping[str, Any] | None, approver_role: str | None, *, name: str, role: str) -> bool:
    """Admins approve anything; otherwise the key's name must hold ``approver_role`` for the partner."""
    if role == "admin":
        return True
    if approver_role is None:
        return role == "operator"
    holders = ((profile or {}).get("approvers") or {}).get(approver_role) or []
    return role == "operator" and name in holders
