"""What detectors produce and what they may consult.

A ``Detection`` is one business exception found in one document (or by one scheduled
check): a taxonomy code, a severity, a message that names the document, line and field,
the evidence with the numbers, related documents and the amount at risk. Detectors read
state only through the ``DocumentHistory`` and ``ReferenceData`` protocols, which the hub
implements; ``PartnerRules`` is the part of a partner profile that detectors need.

Usage:
    >>> d = Detection("credit_hold", Severity.HIGH, "purchase_order ACME/PO-1: customer on hold",
    ...               document="purchase_order ACME/PO-1")
    >>> d.to_exception().code
    'credit_hold'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import TypeAdapter, ValidationError

from canonical.errors import BusinessException, ConfigurationError, Finding
from pipelines.exceptions.taxonomy import Severity, exception_type

if TYPE_CHECKING:
    from canonical.documents import (
        CanonicalDocument,
        Invoice,
        OrderAcknowledgment,
        PurchaseOrder,
        ShipNotice,
    )
    from pipelines.refdata import ReferenceData

__all__ = [
    "DEFAULT_SLA_HOURS",
    "Detection",
    "DetectionContext",
    "DocumentHistory",
    "PartnerRules",
    "describe",
    "detection",
]


@dataclass(frozen=True, slots=True)
class Detection:
    code: str
    severity: Severity
    message: str
    document: str = ""
    path: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    related: tuple[str, ...] = ()
    amount_at_risk: Decimal | None = None
    currency: str | None = None
    partner: str | None = None

    @property
    def recommended_action(self) -> str:
        """The action the evidence recommends, else the taxonomy's preferred one."""
        chosen = self.evidence.get("recommended_action")
        return chosen if isinstance(chosen, str) else exception_type(self.code).action_names[0]

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: Decimals as strings, dates as ISO 8601, absent values left out."""
        out = {"code": self.code, "severity": self.severity.value, "message": self.message,
               "recommended_action": self.recommended_action,
               "document": self.document, "path": self.path, "evidence": _plain(self.evidence),
               "related": list(self.related), "amount_at_risk": _plain(self.amount_at_risk),
               "currency": self.currency, "partner": self.partner}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}

    def to_exception(self) -> BusinessException:
        """As the ``BusinessException`` the runner classifies into a case."""
        details = {k: v for k, v in self.as_dict().items()
                   if k not in ("code", "severity", "message", "document", "partner")}
        return BusinessException(self.message, code=self.code, severity=self.severity.value,
                                 partner=self.partner, document=self.document or None, details=details)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def describe(document: CanonicalDocument) -> str:
    """``"purchase_order ACME/PO-1 rev 0"``: how messages name a document."""
    return f"{document.document_type} {document.business_key} rev {document.revision_of}"


def detection(code: str, document: str, message: str, *, severity: Severity | None = None,
              **kw: Any) -> Detection:
    """A ``Detection`` with the taxonomy's default severity unless one is given."""
    sev = severity or exception_type(code).severity
    where = f" at {kw['path']}" if kw.get("path") else ""
    return Detection(code, sev, f"{document}{where}: {message}", document=document, **kw)


DEFAULT_SLA_HOURS: dict[str, int] = {"997": 4, "855": 24, "856": 48, "810": 120}


@dataclass(frozen=True, slots=True)
class PartnerRules:
    """The detector-facing part of a partner profile (the hub maps its profile onto this)."""

    partner_id: str
    sla_hours: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SLA_HOURS))
    fallback_carrier: str | None = None
    duplicate_window_days: int = 3
    ship_complete: bool = True
    over_ship_tolerance_percent: Decimal = Decimal(0)
    invoice_amount_tolerance: Decimal = Decimal("0.01")
    invoice_after_days: int = 3
    revision_wait_hours: int = 4

    @classmethod
    def from_profile(cls, profile: Mapping[str, Any]) -> PartnerRules:
        """From a partner profile's ``exceptions`` section (any field of this class).

        Usage:
            >>> PartnerRules.from_profile({"id": "ACME", "exceptions": {"fallback_carrier": "FDEG",
            ...     "sla_hours": {"855": 12}}}).sla_hours["855"]
            12
        """
        partner_id = str(profile.get("id", ""))
        section = dict(profile.get("exceptions") or {})
        if "sla_hours" in section:  # named documents override, the rest keep their defaults
            section["sla_hours"] = {**DEFAULT_SLA_HOURS, **section["sla_hours"]}
        known = {f.name for f in fields(cls)} - {"partner_id"}
        findings = [Finding(path=f"exceptions.{k}", message=f"unknown field (known: {', '.join(sorted(known))})",
                            code="extra_forbidden") for k in section if k not in known]
        rules: PartnerRules | None = None
        try:
            rules = _RULES.validate_python(
                {**{k: v for k, v in section.items() if k in known}, "partner_id": partner_id})
        except ValidationError as exc:
            findings += [Finding(path="exceptions." + ".".join(str(p) for p in e["loc"]), message=e["msg"],
                                 code=e["type"]) for e in exc.errors()]
        if findings or rules is None:
            raise ConfigurationError(f"partner {partner_id!r} has invalid exception rules",
                                     code="partner.invalid_exception_rules", partner=partner_id,
                                     findings=findings)
        return rules


class DocumentHistory(Protocol):
    """What Crossdock has seen before. The hub implements this over its document store;
    every method excludes the document being checked."""

    def purchase_order(self, po_number: str, *, buyer_id: str | None = None) -> PurchaseOrder | None:
        """The latest known revision of the order."""
        ...

    def orders_from_buyer(self, buyer_id: str, *, since: date,
                          fingerprint: str | None = None) -> Sequence[PurchaseOrder]:
        """Orders from ``buyer_id`` dated ``since`` or later (latest revision of each).

        With ``fingerprint`` a history may return only orders that had that content
        fingerprint (``order_fingerprint``) in some revision; callers still compare."""
        ...

    def confirmed_acknowledgment(self, po_number: str, *, buyer_id: str) -> OrderAcknowledgment | None:
        """The last 855 for the order that Crossdock accepted."""
        ...

    def ship_notices_for(self, po_number: str, *, buyer_id: str | None = None) -> Sequence[ShipNotice]:
        """Earlier ship notices against the order (latest revision of each shipment)."""
        ...

    def ship_notice(self, shipment_id: str, *, seller_id: str) -> ShipNotice | None: ...

    def invoice(self, invoice_number: str, *, seller_id: str) -> Invoice | None:
        """An invoice with this number from this seller seen before (any revision)."""
        ...

    def invoices_from(self, seller_id: str, *, since: date) -> Sequence[Invoice]: ...


_RULES: TypeAdapter[PartnerRules] = TypeAdapter(PartnerRules)


@dataclass(frozen=True, slots=True)
class DetectionContext:
    refdata: ReferenceData
    history: DocumentHistory
    partner: PartnerRules
    today: date
