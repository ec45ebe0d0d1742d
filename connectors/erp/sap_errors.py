"""Turn an SAP Gateway answer into a ``canonical.errors`` class, by a table.

    status 503 / 429 (Retry-After)      → RetryableError   erp.unavailable / erp.throttled
    status 423 (document locked)        → RetryableError   erp.locked
    status 412 (changed since read)     → RetryableError   erp.precondition_failed
    status 403 + x-csrf-token: Required → RetryableError   erp.csrf  (after one refresh)
    status 401 Bearer invalid_token     → RetryableError   erp.token_expired (after one refresh)
    status 401 / 403 otherwise          → PermanentError   erp.unauthorized
    4xx whose message names a business rejection → BusinessException erp.rejected.<reason>
    other 4xx                           → PermanentError   erp.bad_request / erp.not_found ...
    5xx                                 → RetryableError   erp.server_error
    connection error / timeout          → RetryableError   erp.unreachable / erp.timeout

Every error keeps its evidence in ``details``: method, path, status, SAP message code and
text, SAP transaction (request) id, and the error details list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from canonical.errors import BusinessException, CrossdockError, PermanentError, RetryableError

__all__ = [
    "BUSINESS_RULES",
    "SapFault",
    "business_exception",
    "classify_response",
    "is_csrf_failure",
    "is_expired_token",
    "parse_fault",
    "retry_after_seconds",
]


@dataclass(frozen=True, slots=True)
class SapFault:
    """The evidence an SAP Gateway error body and headers carry."""

    status: int
    sap_code: str
    message: str
    request_id: str | None
    details: tuple[dict[str, Any], ...]

    def as_details(self, method: str, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {"method": method, "path": path, "status": self.status,
                               "sap_code": self.sap_code, "sap_message": self.message}
        if self.request_id:
            out["request_id"] = self.request_id
        if self.details:
            out["errordetails"] = list(self.details)
        return out


# (pattern over "code message", business code, severity). Real S/4HANA and mock-sap texts.
BUSINESS_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"material\s+\S+\s+(does not exist|not found|is not defined)", re.I),
     "erp.rejected.unknown_material", "high"),
    (re.compile(r"material\s+\S+\s+is\s+flagged\s+for\s+deletion", re.I),
     "erp.rejected.material_deleted", "high"),
    (re.compile(r"(sold-to party|customer)\s+\S+\s+is\s+blocked", re.I),
     "erp.rejected.blocked_customer", "high"),
    (re.compile(r"(sold-to party|customer)\s+\S+\s+(does not exist|not found|is not defined)", re.I),
     "erp.rejected.unknown_customer", "high"),
    (re.compile(r"credit limit", re.I), "erp.rejected.credit_limit", "medium"),
)

_STATUS_CODES: dict[int, str] = {
    400: "erp.bad_request", 404: "erp.not_found", 405: "erp.bad_request",
    409: "erp.conflict", 413: "erp.bad_request", 415: "erp.bad_request",
}


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def parse_fault(response: httpx.Response) -> SapFault:
    """Read SAP's V2 error envelope; tolerate bodies that are not one."""
    code, message, request_id = "", "", None
    details: tuple[dict[str, Any], ...] = ()
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = str(err.get("code") or "")
        msg = err.get("message")
        message = str(msg.get("value", "")) if isinstance(msg, dict) else str(msg or "")
        inner = err.get("innererror") if isinstance(err.get("innererror"), dict) else {}
        request_id = inner.get("transactionid") or None
        raw = inner.get("errordetails")
        details = tuple(d for d in raw if isinstance(d, dict)) if isinstance(raw, list) else ()
    elif response.text:
        message = response.text[:500]
    request_id = response.headers.get("sap-request-id") or \
        response.headers.get("x-correlationid") or request_id
    return SapFault(response.status_code, code, message or response.reason_phrase,
                    request_id, details)


def is_csrf_failure(response: httpx.Response) -> bool:
    return response.status_code == 403 and \
        response.headers.get("x-csrf-token", "").lower() == "required"


def is_expired_token(response: httpx.Response) -> bool:
    challenge = response.headers.get("www-authenticate", "").lower()
    return response.status_code == 401 and "bearer" in challenge and "invalid_token" in challenge


def business_exception(code: str, message: str, *, severity: str = "high",
                       details: dict[str, Any] | None = None) -> BusinessException:
    return BusinessException(message, code=code, severity=severity, details=details)


def _business(fault: SapFault) -> tuple[str, str] | None:
    texts = [f"{fault.sap_code} {fault.message}"]
    texts += [f"{d.get('code', '')} {d.get('message', '')}" for d in fault.details]
    for pattern, code, severity in BUSINESS_RULES:
        if any(pattern.search(text) for text in texts):
            return code, severity
    return None


def classify_response(response: httpx.Response, *, method: str, path: str) -> CrossdockError:
    """The canonical error for a non-2xx SAP answer (after any CSRF/token refresh)."""
    fault = parse_fault(response)
    details = fault.as_details(method, path)
    status = fault.status
    text = f"SAP {method} {path} answered {status}: {fault.message}"
    retry_after = retry_after_seconds(response.headers.get("retry-after"))
    if status in (429, 503):
        code = "erp.throttled" if status == 429 else "erp.unavailable"
        return RetryableError(text, code=code, retry_after=retry_after, details=details)
    if status == 423:
        return RetryableError(text, code="erp.locked", retry_after=retry_after, details=details)
    if status == 412:
        return RetryableError(text, code="erp.precondition_failed", details=details)
    if is_csrf_failure(response):
        return RetryableError(text, code="erp.csrf", details=details)
    if is_expired_token(response):
        return RetryableError(text, code="erp.token_expired", details=details)
    if status in (401, 403):
        return PermanentError(text, code="erp.unauthorized", details=details)
    if 400 <= status < 500:
        found = _business(fault)
        if found:
            return business_exception(found[0], text, severity=found[1], details=details)
        return PermanentError(text, code=_STATUS_CODES.get(status, "erp.bad_request"),
                              details=details)
    return RetryableError(text, code="erp.server_error", retry_after=retry_after, details=details)
