"""One HTTP GET with Crossdock's error classification and one retry policy.

    lost connection, timeout, 408, 429, 5xx  → RetryableError(retry_after)   rest_poll.unavailable
    401, 403                                 → PermanentError                rest_poll.unauthorized
    other 4xx                                → PermanentError                rest_poll.client_error

Inside one call, retryable failures are retried with exponential backoff (tenacity);
``Retry-After`` (seconds or an HTTP date) replaces the backoff. A Retry-After longer than
``max_retry_after_seconds`` is not slept through: the error is raised with it, and the
hub's scheduler retries the poll later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from canonical.errors import CrossdockError, PermanentError, RetryableError
from connectors.transports.rest_poll.auth import build_auth
from connectors.transports.rest_poll.config import ApiKeyAuth, AuthConfig, RetrySettings

__all__ = ["RestClient", "classify_response", "parse_retry_after", "public_url"]

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), ≥ 0.

    Usage:
        >>> parse_retry_after("7")
        7.0
        >>> parse_retry_after("Mon, 23 Nov 2026 18:00:30 GMT",
        ...                   now=datetime(2026, 11, 23, 18, 0, tzinfo=UTC))
        30.0
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def public_url(url: httpx.URL, redact: Collection[str] = ()) -> str:
    """``url`` without the query parameters that carry secrets (an API key in the query)."""
    for name in redact:
        url = url.copy_remove_param(name)
    return str(url)


def classify_response(response: httpx.Response, *, redact: Collection[str] = (), **evidence: Any) -> None:
    """Raise the canonical error for a failed response; return for 2xx/3xx."""
    status = response.status_code
    if status < 400:
        return
    details = {"status": status, "url": public_url(response.url, redact), "body": response.text[:500]}
    if status in RETRYABLE_STATUS:
        wait = parse_retry_after(response.headers.get("Retry-After"))
        raise RetryableError(f"{response.request.method} {response.url.path} answered {status}",
                             retry_after=wait, code="rest_poll.unavailable", details=details, **evidence)
    if status in (401, 403):
        raise PermanentError(f"{response.url.host} refused our credentials ({status})",
                             code="rest_poll.unauthorized", details=details, **evidence)
    raise PermanentError(f"{response.request.method} {response.url.path} answered {status}",
                         code="rest_poll.client_error", details=details, **evidence)


class RestClient:
    """An httpx client that classifies failures and retries the retryable ones.

    ``waits`` records each wait it took (seconds), for metrics and tests.

    Usage:
        client = RestClient(auth=config.auth, retry=config.retry, partner_id="SHOP")
        response = client.get("https://shop.example/api/orders", {"page": "1"})
    """

    def __init__(
        self, *, auth: AuthConfig | None, retry: RetrySettings, partner_id: str | None = None,
        headers: dict[str, str] | None = None, timeout_seconds: float = 30.0,
        transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retry = retry
        self.partner_id = partner_id
        self.sleep = sleep
        self.waits: list[float] = []
        # an API key sent in the query must not reach error details, receipts or state
        self.redact = {auth.name} if isinstance(auth, ApiKeyAuth) and auth.location == "query" else set()
        self.http = httpx.Client(auth=build_auth(auth), headers=headers or {},
                                 timeout=timeout_seconds, transport=transport, follow_redirects=True)

    def close(self) -> None:
        self.http.close()

    def _once(
        self, method: str, url: str, params: dict[str, str] | None, headers: dict[str, str] | None
    ) -> httpx.Response:
        ev: dict[str, Any] = {"partner": self.partner_id}
        try:  # params={} would drop a query the URL already has (a followed Link)
            response = self.http.request(method, url, params=params or None, headers=headers)
        except httpx.TimeoutException as exc:
            raise RetryableError(f"{url} timed out: {exc}", code="rest_poll.unavailable",
                                 details={"url": url, "reason": "timeout"}, **ev) from exc
        except httpx.TransportError as exc:
            raise RetryableError(f"{url} could not be reached: {exc}", code="rest_poll.unavailable",
                                 details={"url": url, "reason": "connection"}, **ev) from exc
        classify_response(response, redact=self.redact, **ev)
        return response

    def _should_retry(self, exc: BaseException) -> bool:
        if not isinstance(exc, RetryableError):
            return False
        return exc.retry_after is None or exc.retry_after <= self.retry.max_retry_after_seconds

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableError) and exc.retry_after is not None:
            wait = exc.retry_after
        else:
            wait = min(self.retry.backoff_seconds * 2 ** (state.attempt_number - 1),
                       self.retry.backoff_max_seconds)
        self.waits.append(wait)
        return wait

    def request(
        self, method: str, url: str, params: dict[str, str] | None = None, *,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_attempts), wait=self._wait,
            retry=retry_if_exception(self._should_retry), sleep=self.sleep, reraise=True,
        )
        try:
            return retrying(self._once, method, url, params, headers)
        except CrossdockError as exc:
            exc.details.setdefault("attempts", retrying.statistics.get("attempt_number", 1))
            raise

    def get(
        self, url: str, params: dict[str, str] | None = None, *, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return self.request("GET", url, params, headers=headers)
