"""HTTP failure classification shared by sending and async MDN delivery."""

from __future__ import annotations

import email.utils
import time

import httpx

from canonical.errors import PermanentError, RetryableError

__all__ = ["classify_response", "classify_transport_error", "retry_after_seconds"]


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def classify_transport_error(exc: httpx.TransportError, *, url: str,
                             partner: str, document: str | None) -> RetryableError:
    """A lost connection or a timeout: always worth another try."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    return RetryableError(f"AS2 POST to {partner} at {url} {kind}: {exc!r}",
                          code="as2.transport", partner=partner, document=document)


def classify_response(response: httpx.Response, *, partner: str,
                      document: str | None) -> RetryableError | PermanentError | None:
    """None for 2xx; retryable for 408/425/429/5xx; permanent for any other status."""
    status = response.status_code
    if status < 300:
        return None
    snippet = response.text[:300].strip()
    message = f"AS2 partner {partner} answered HTTP {status}: {snippet or response.reason_phrase}"
    if status in (408, 425, 429) or status >= 500:
        return RetryableError(message, code="as2.http_retryable", partner=partner,
                              document=document,
                              retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                              details={"status": status})
    return PermanentError(message, code="as2.http_refused", partner=partner,
                          document=document, details={"status": status})
