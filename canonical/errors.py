"""Errors that Crossdock's pipeline knows what to do with.

Named by what the hub does with them, and carrying the evidence an engineer needs
(partner, document, segment, field). ``pipelines.classify`` maps every error, ours or
foreign, to one action; nothing else decides.

    CrossdockError
    ├── RetryableError        transient: try again later (honours ``retry_after``)
    ├── PermanentError        will fail again as it is: dead letter for an engineer
    │   ├── ParseError        the bytes are not what they claim (names position/segment/element)
    │   ├── ValidationFailed  a document breaks a rule (names each field)
    │   └── ConfigurationError unknown partner, document type, route ...
    ├── BusinessException     the data is fine but the business is not: a case for operations
    └── AlreadySeen           the same document was processed before: a successful no-op
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AlreadySeen",
    "BusinessException",
    "ConfigurationError",
    "CrossdockError",
    "Finding",
    "ParseError",
    "PermanentError",
    "RetryableError",
    "ValidationFailed",
]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem at one place in a document.

    ``path`` is where it is: a field path for JSON (``lines[0].quantity``) or a segment
    address for EDI (``ST*850*0001 / PO1 at 12 / element 02``).
    """

    path: str
    message: str
    code: str = "invalid"
    segment_id: str | None = None
    segment_position: int | None = None
    element_position: int | None = None
    component_position: int | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (
            ("path", self.path), ("message", self.message), ("code", self.code),
            ("segment_id", self.segment_id), ("segment_position", self.segment_position),
            ("element_position", self.element_position),
            ("component_position", self.component_position), ("value", self.value),
        ) if v is not None}

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class CrossdockError(Exception):
    """Base of every error the pipeline classifies. ``code`` is stable and dotted."""

    code = "crossdock.error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        partner: str | None = None,
        document: str | None = None,
        findings: list[Finding] | tuple[Finding, ...] = (),
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.partner = partner
        self.document = document
        self.findings = tuple(findings)
        self.details = dict(details or {})

    def describe(self) -> dict[str, Any]:
        """The evidence, as stored on a dead letter or a case."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.partner:
            out["partner"] = self.partner
        if self.document:
            out["document"] = self.document
        if self.findings:
            out["findings"] = [f.as_dict() for f in self.findings]
        if self.details:
            out["details"] = self.details
        return out

    def __str__(self) -> str:
        if not self.findings:
            return self.message
        shown = "; ".join(str(f) for f in self.findings[:5])
        more = f" (+{len(self.findings) - 5} more)" if len(self.findings) > 5 else ""
        return f"{self.message}: {shown}{more}"


class RetryableError(CrossdockError):
    """Transient: a lost connection, a timeout, a 429/503. ``retry_after`` in seconds."""

    code = "transient"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class PermanentError(CrossdockError):
    """Will fail the same way until someone changes the data or the configuration."""

    code = "permanent"


class ParseError(PermanentError):
    """The payload cannot be read as the format it claims to be."""

    code = "parse.error"


class ValidationFailed(PermanentError):
    """The payload was read but breaks the model's rules; ``findings`` name every field."""

    code = "validation.failed"


class ConfigurationError(PermanentError):
    """Unknown partner, document type, map or route."""

    code = "config.error"


class BusinessException(CrossdockError):
    """A business difference (short ship, price mismatch ...): opens a case, never a dead letter."""

    code = "business.exception"

    def __init__(self, message: str, *, severity: str = "medium", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.severity = severity


@dataclass
class AlreadySeen(CrossdockError):
    """The same document (by idempotency key or raw bytes) was processed before."""

    message: str = "already seen"
    existing_id: int | None = None
    idempotency_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        CrossdockError.__init__(self, self.message, code="duplicate.already_seen",
                                details={"existing_id": self.existing_id,
                                         "idempotency_key": self.idempotency_key, **self.extra})

    def __hash__(self) -> int:  # dataclass(eq=True) would drop hashing; errors must hash
        return id(self)
