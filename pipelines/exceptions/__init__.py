"""Business exceptions: the taxonomy, detectors, validation over reference data, case scoring
and resolution policies. Pure logic: state is reached through the ``ReferenceData`` and
``DocumentHistory`` protocols, which the hub implements.

Usage:
    ctx = DetectionContext(refdata, history, PartnerRules("ACME"), today=date.today())
    for found in detect_all(po, ctx):
        case_score = score(inputs_for(found, now=now, customer=refdata.customer("ACME")))
        decision = decide(found, policies, "ACME")
"""

from __future__ import annotations

from pipelines.exceptions.detectors import DETECTORS, detect_all
from pipelines.exceptions.model import (
    Detection,
    DetectionContext,
    DocumentHistory,
    PartnerRules,
    describe,
)
from pipelines.exceptions.policies import (
    PolicyAction,
    PolicyDecision,
    PolicyRule,
    decide,
    parse_policies,
)
from pipelines.exceptions.scoring import (
    DEFAULT_RULES,
    CaseScore,
    Contribution,
    ScoreInputs,
    ScoreRule,
    inputs_for,
    score,
)
from pipelines.exceptions.taxonomy import (
    ACTIONS,
    TAXONOMY,
    Action,
    Category,
    ExceptionType,
    Owner,
    Severity,
    exception_type,
)
from pipelines.exceptions.validation import ValidationReport, validate_document

__all__ = [
    "ACTIONS",
    "DEFAULT_RULES",
    "DETECTORS",
    "TAXONOMY",
    "Action",
    "CaseScore",
    "Category",
    "Contribution",
    "Detection",
    "DetectionContext",
    "DocumentHistory",
    "ExceptionType",
    "Owner",
    "PartnerRules",
    "PolicyAction",
    "PolicyDecision",
    "PolicyRule",
    "ScoreInputs",
    "ScoreRule",
    "Severity",
    "ValidationReport",
    "decide",
    "describe",
    "detect_all",
    "exception_type",
    "inputs_for",
    "parse_policies",
    "score",
    "validate_document",
]
