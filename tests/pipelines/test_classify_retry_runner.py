"""classify(), the retry policy and the stage runner: pure logic, table-driven."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError

from canonical.errors import (
    AlreadySeen,
    BusinessException,
    ConfigurationError,
    ParseError,
    PermanentError,
    RetryableError,
)
from pipelines.classify import Action, classify, rules_from_data
from pipelines.retry import RetryPolicy
from pipelines.runner import Message, run_stages


class _M(BaseModel):
    x: int


def _pydantic_error() -> ValidationError:
    try:
        _M.model_validate({"x": "nope"})
    except ValidationError as exc:
        return exc
    raise AssertionError


class _Status(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status_code = status


@pytest.mark.parametrize("error,action", [
    (RetryableError("ERP busy", retry_after=30), Action.RETRY),
    (httpx.ConnectError("refused"), Action.RETRY),
    (httpx.ReadTimeout("slow"), Action.RETRY),
    (ConnectionResetError("reset"), Action.RETRY),
    (TimeoutError(), Action.RETRY),
    (OperationalError("select", {}, Exception("database is locked")), Action.RETRY),
    (_Status(429), Action.RETRY),
    (_Status(503), Action.RETRY),
    (_Status(404), Action.DEAD_LETTER),
    (ParseError("bad ISA"), Action.DEAD_LETTER),
    (ConfigurationError("unknown partner"), Action.DEAD_LETTER),
    (PermanentError("401", code="erp.unauthorized"), Action.DEAD_LETTER),
    (json.JSONDecodeError("x", "doc", 0), Action.DEAD_LETTER),
    (_pydantic_error(), Action.DEAD_LETTER),
    (BusinessException("unknown material", code="erp.rejected.unknown_material"), Action.CASE),
    (AlreadySeen("seen", existing_id=3), Action.IGNORE),
    (KeyError("bug"), Action.DEAD_LETTER),
])
def test_classification_table(error: BaseException, action: Action) -> None:
    assert classify(error).action is action


def test_retry_after_is_carried() -> None:
    assert classify(RetryableError("busy", retry_after=30)).retry_after == 30


def test_partner_overrides_come_first() -> None:
    rules = rules_from_data([{"match": "code:http.409", "action": "retry", "reason": "their API answers 409 while busy"}])
    res = classify(_Status(409), overrides=rules)
    assert res.action is Action.RETRY and "409 while busy" in res.reason
    with pytest.raises(ValueError, match="retry rule 0"):
        rules_from_data([{"match": "http.409", "action": "retry"}])
    with pytest.raises(ValueError, match="retry rule 0"):
        rules_from_data([{"match": "code:x", "action": "explode"}])


def test_backoff_grows_with_jitter_and_stops() -> None:
    policy = RetryPolicy(max_attempts=5, initial=1, max_wait=10, max_age=3600, jitter=0.5)
    err = RetryableError("down")
    delays = [policy.next_delay(attempt=a, elapsed=0, error=err) for a in range(1, 6)]
    assert delays[4] is None  # the 5th failure spends the budget
    for attempt, delay in enumerate(delays[:4], start=1):
        base = min(10, 2 ** (attempt - 1))
        assert delay is not None and base <= delay <= base + 0.5


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(initial=1, retry_after_cap=60)
    assert policy.next_delay(attempt=1, elapsed=0, error=RetryableError("busy", retry_after=30)) == 30
    assert policy.next_delay(attempt=1, elapsed=0, error=RetryableError("busy", retry_after=9999)) == 60


def test_max_age_turns_retries_into_a_dead_letter() -> None:
    policy = RetryPolicy(max_attempts=100, initial=10, max_age=60)
    err = RetryableError("down")
    assert policy.next_delay(attempt=1, elapsed=61, error=err) is None
    assert policy.next_delay(attempt=1, elapsed=55, error=err) == pytest.approx(5, abs=0.01)


def test_in_process_retrying_uses_the_same_policy() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise RetryableError("again", retry_after=0.01)
        return "ok"

    assert RetryPolicy(max_attempts=5, initial=0.01).retrying()(flaky) == "ok"
    assert len(calls) == 3
    with pytest.raises(PermanentError):
        RetryPolicy(max_attempts=5, initial=0.01).retrying()(lambda: (_ for _ in ()).throw(PermanentError("no")))


class _Ctx:
    def partner(self, partner_id: str) -> dict[str, Any] | None:
        return None

    def find_document(self, key: str) -> int | None:
        return None

    def now(self) -> datetime:
        return datetime.now(UTC)


def test_runner_stops_at_the_first_failure_and_classifies_it() -> None:
    seen = []

    def ok(m: Message, ctx: Any) -> Message:
        seen.append("ok")
        return m

    def boom(m: Message, ctx: Any) -> Message:
        raise RetryableError("ERP down", retry_after=5)

    def never(m: Message, ctx: Any) -> Message:
        seen.append("never")
        return m

    out = run_stages([("a", ok), ("b", boom), ("c", never)], Message(1, "ACME", "http", b""), _Ctx())
    assert not out.ok and out.stage == "b" and seen == ["ok"]
    assert out.resolution is not None and out.resolution.action is Action.RETRY
    assert set(out.timings) == {"a", "b"}
    good = run_stages([("a", ok)], Message(1, "ACME", "http", b""), _Ctx())
    assert good.ok and good.resolution is None
