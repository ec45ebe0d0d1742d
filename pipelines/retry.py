"""The one retry policy (tenacity): exponential backoff with jitter, Retry-After honoured,
a maximum number of attempts and a maximum age.

Jobs are retried across process restarts, so the hub does not sleep inside tenacity:
it asks the policy for the next delay and persists ``next_attempt_at``. In-process calls
that want to retry right away (``policy.retrying()``) use the very same wait and stop.

Usage:
    policy = RetryPolicy(max_attempts=5, initial=1, max_wait=60, max_age=3600)
    delay = policy.next_delay(attempt=2, elapsed=10.0, error=err)  # None: give up
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tenacity import (
    Future,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from canonical.errors import RetryableError

__all__ = ["RetryPolicy", "wait_retry_after"]


class wait_retry_after(wait_base):
    """Wait what the other side asked for (Retry-After), capped; otherwise ``fallback``."""

    def __init__(self, fallback: wait_base, *, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        asked = getattr(error, "retry_after", None)
        if isinstance(asked, int | float) and asked > 0:
            return float(min(asked, self.cap))
        return float(self.fallback(retry_state))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    initial: float = 2.0
    max_wait: float = 600.0
    max_age: float = 86400.0
    retry_after_cap: float = 3600.0
    jitter: float | None = None  # default: a quarter of ``initial``

    def wait(self) -> wait_base:
        jitter = self.initial / 4 if self.jitter is None else self.jitter
        return wait_retry_after(
            wait_exponential_jitter(multiplier=self.initial, max=self.max_wait, jitter=jitter),
            cap=self.retry_after_cap,
        )

    def stop(self) -> stop_base:
        return stop_after_attempt(self.max_attempts) | stop_after_delay(self.max_age)

    def next_delay(self, *, attempt: int, elapsed: float, error: BaseException) -> float | None:
        """Seconds until attempt ``attempt + 1``; None when the budget (attempts or age) is spent.

        ``attempt`` is the number of the attempt that just failed (1 for the first);
        ``elapsed`` the seconds since the work was first received.
        """
        state = self._state(attempt=attempt, elapsed=elapsed, error=error)
        if self.stop()(state):
            return None
        delay = self.wait()(state)
        if elapsed + delay > self.max_age:
            return None if elapsed >= self.max_age else max(0.0, self.max_age - elapsed)
        return delay

    def retrying(self, **kw: Any) -> Retrying:
        """A tenacity ``Retrying`` for in-process calls, retrying only transient errors."""
        return Retrying(
            wait=self.wait(), stop=self.stop(), reraise=True,
            retry=retry_if_exception(lambda e: isinstance(e, RetryableError)), **kw,
        )

    def _state(self, *, attempt: int, elapsed: float, error: BaseException) -> RetryCallState:
        state = RetryCallState(retry_object=Retrying(), fn=None, args=(), kwargs={})
        now = time.monotonic()
        state.start_time = now - elapsed
        state.attempt_number = attempt
        state.outcome = Future.construct(attempt, error, True)
        state.outcome_timestamp = now
        return state
