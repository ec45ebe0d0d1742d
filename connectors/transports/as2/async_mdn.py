"""Posting an asynchronous MDN to the sender's Receipt-Delivery-Option, with retries.

Retries follow the partner's :class:`MdnDeliveryPolicy` through one tenacity policy:
exponential back-off with jitter, a server's Retry-After honoured (capped at
``max_wait_s``), only transient failures retried.

Usage:
    if response.async_mdn is not None:
        background_tasks.add_task(response.async_mdn.deliver)
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from canonical.errors import RetryableError
from connectors.transports.as2._http import classify_response, classify_transport_error
from connectors.transports.as2.config import AS2PartnerConfig, MdnDeliveryPolicy

__all__ = ["AsyncMdn", "retry_policy"]


def retry_policy(policy: MdnDeliveryPolicy) -> Retrying:
    """The tenacity policy for one delivery: RetryableError is retried, nothing else."""
    backoff = wait_exponential_jitter(multiplier=policy.initial_wait_s, max=policy.max_wait_s,
                                      jitter=policy.initial_wait_s)

    def wait(state: RetryCallState) -> float:
        computed = float(backoff(state))
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RetryableError) and error.retry_after is not None:
            computed = max(computed, error.retry_after)
        return min(computed, policy.max_wait_s)

    return Retrying(stop=stop_after_attempt(policy.attempts), wait=wait,
                    retry=retry_if_exception_type(RetryableError), reraise=True)


@dataclass(frozen=True, slots=True)
class AsyncMdn:
    """An MDN built after the payload was stored, waiting to be POSTed to ``url``."""

    url: str
    headers: dict[str, str]
    body: bytes
    partner: AS2PartnerConfig
    original_message_id: str

    @staticmethod
    def allowed(url: str, partner: AS2PartnerConfig) -> bool:
        """Only http(s) to the partner's own host or its configured ``mdn_hosts``."""
        parts = urllib.parse.urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and \
            partner.mdn_host_allowed(parts.hostname or "")

    def _post_once(self, client: httpx.Client) -> int:
        try:
            response = client.post(self.url, headers=self.headers, content=self.body)
        except httpx.TransportError as exc:
            raise classify_transport_error(exc, url=self.url, partner=self.partner.as2_id,
                                           document=self.original_message_id) from exc
        error = classify_response(response, partner=self.partner.as2_id,
                                  document=self.original_message_id)
        if error is not None:
            raise error
        return response.status_code

    def deliver(self, client: httpx.Client | None = None) -> int:
        """POST the MDN, retrying transient failures; returns the final HTTP status.

        Raises ``RetryableError`` when attempts are spent, ``PermanentError`` on a 4xx.
        """
        policy = self.partner.mdn_delivery
        own = client is None
        http = client or httpx.Client(timeout=policy.timeout_s)
        try:
            status: int = retry_policy(policy)(self._post_once, http)
            return status
        finally:
            if own:
                http.close()
