"""One pure function decides what happens to every failure: ``classify(error) -> Resolution``.

The retry wrapper, the job runner and the dead-letter writer all ask it; nothing else
decides. The table is data: rows match an error code (``code:erp.http_423``) or an
exception class anywhere in the error's MRO (``type:httpx*.TransportError``), first match
wins. Partners prepend their own rows (``overrides``) from their profile.

Usage:
    >>> from canonical.errors import RetryableError
    >>> classify(RetryableError("ERP busy", retry_after=30)).action
    <Action.RETRY: 'retry'>
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from canonical.errors import AlreadySeen, BusinessException, CrossdockError, RetryableError

__all__ = ["DEFAULT_RULES", "Action", "Resolution", "Rule", "classify", "error_code", "rules_from_data"]


class Action(StrEnum):
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"
    CASE = "case"
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class Resolution:
    action: Action
    code: str  # the error's stable code, e.g. "parse.error", "erp.http_503"
    reason: str  # which rule matched, for the attempt log
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    match: str  # "code:<glob>" or "type:<glob over module.ClassName>"
    action: Action
    reason: str

    def matches(self, code: str, type_names: Sequence[str]) -> bool:
        kind, _, pattern = self.match.partition(":")
        if kind == "code":
            return fnmatchcase(code, pattern)
        if kind == "type":
            return any(fnmatchcase(name, pattern) for name in type_names)
        raise ValueError(f"rule match {self.match!r} must start with 'code:' or 'type:'")


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("code:duplicate.*", Action.IGNORE, "already processed: a successful no-op"),
    Rule("code:http.429", Action.RETRY, "rate limited"),
    Rule("code:http.5*", Action.RETRY, "server error at the other end"),
    Rule("code:http.4*", Action.DEAD_LETTER, "request refused by the other end"),
    Rule("type:canonical.errors.BusinessException", Action.CASE, "business exception: a case for operations"),
    Rule("type:canonical.errors.RetryableError", Action.RETRY, "transient failure"),
    Rule("type:canonical.errors.PermanentError", Action.DEAD_LETTER, "permanent failure"),
    Rule("type:httpx*.TransportError", Action.RETRY, "connection failed or timed out"),
    Rule("type:builtins.ConnectionError", Action.RETRY, "connection failed"),
    Rule("type:builtins.TimeoutError", Action.RETRY, "timed out"),
    Rule("type:sqlalchemy.exc.OperationalError", Action.RETRY, "database unavailable"),
    Rule("type:sqlalchemy.exc.InterfaceError", Action.RETRY, "database connection lost"),
    Rule("type:paramiko*.SSHException", Action.RETRY, "SSH connection failed"),
    Rule("type:json.decoder.JSONDecodeError", Action.DEAD_LETTER, "malformed JSON"),
    Rule("type:pydantic_core*.ValidationError", Action.DEAD_LETTER, "invalid document"),
    Rule("type:builtins.BaseException", Action.DEAD_LETTER, "unexpected error"),
)


def _type_names(error: BaseException) -> list[str]:
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in type(error).__mro__]


def error_code(error: BaseException) -> str:
    """The stable code of an error: ours carry one; others get ``error.<ClassName>``."""
    if isinstance(error, CrossdockError):
        return error.code
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        return f"http.{status}"
    return f"error.{type(error).__name__}"


def classify(error: BaseException, *, overrides: Iterable[Rule] = ()) -> Resolution:
    code = error_code(error)
    if isinstance(error, AlreadySeen):
        return Resolution(Action.IGNORE, code, "already seen")
    names = _type_names(error)
    retry_after = error.retry_after if isinstance(error, RetryableError) else None
    for rule in (*tuple(overrides), *DEFAULT_RULES):
        if rule.matches(code, names):
            if rule.action is Action.CASE and not isinstance(error, BusinessException):
                return Resolution(Action.CASE, code, rule.reason)
            return Resolution(rule.action, code, rule.reason, retry_after)
    return Resolution(Action.DEAD_LETTER, code, "no rule matched")  # unreachable: BaseException row


def rules_from_data(rows: Iterable[dict[str, Any]], *, source: str = "profile") -> tuple[Rule, ...]:
    """Partner override rows ``{"match": "code:erp.http_409", "action": "retry", "reason": ...}``."""
    out = []
    for i, row in enumerate(rows):
        try:
            action = Action(row["action"])
            match = str(row["match"])
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{source}: retry rule {i}: needs 'match' and an action of "
                             f"{[a.value for a in Action]} ({exc})") from None
        if not match.startswith(("code:", "type:")):
            raise ValueError(f"{source}: retry rule {i}: match must start with 'code:' or 'type:'")
        out.append(Rule(match, action, str(row.get("reason") or f"{source} rule {i}")))
    return tuple(out)
