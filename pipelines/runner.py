"""The stage runner: one loop for both run modes.

A stage is a small function ``(message, context) -> message`` that raises when it cannot
go on. The runner times each stage, stops at the first failure and asks ``classify`` what
the failure means. It never retries, never writes a dead letter and never touches the
database: the hub persists the ``Outcome`` (embedded and distributed alike).

Usage:
    outcome = run_stages([("decode", decode), ("validate", validate)], message, ctx)
    if outcome.ok: ...
    else: outcome.resolution.action  # retry | dead_letter | case | ignore
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from canonical.documents import CanonicalDocument, DocumentJSON
from canonical.errors import Finding
from pipelines.classify import Resolution, Rule, classify

__all__ = ["Message", "Outcome", "Stage", "StageContext", "run_stages"]


@dataclass(slots=True)
class Message:
    """One received payload on its way through the stages."""

    receipt_id: int
    partner_id: str
    channel: str
    raw: bytes
    document_type: str | None = None
    content_type: str | None = None
    filename: str | None = None
    correlation_id: str | None = None
    received_at: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    partner: dict[str, Any] | None = None  # the resolved partner profile
    data: Any = None  # decoded payload (JSON value, EDI interchanges, ...)
    documents: list[CanonicalDocument] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    existing_ids: dict[str, int] = field(default_factory=dict)  # idempotency key → document id
    stored_ids: dict[str, int] = field(default_factory=dict)  # idempotency key → the row this receipt wrote
    dumped: dict[int, tuple[CanonicalDocument, DocumentJSON]] = field(default_factory=dict)  # id(doc) → (doc, its JSON)
    held: dict[str, int | None] = field(default_factory=dict)  # idempotency key → document id, looked up this run

    def held_id(self, key: str, find: Callable[[str], int | None]) -> int | None:
        """The id of the document held under ``key`` (None: none), asked of ``find`` (the
        context's ``find_document``) once per key for this message: several stages ask, and
        between them this run writes no document."""
        if key not in self.held:
            self.held[key] = find(key)
        return self.held[key]

    def canonical_json(self, doc: CanonicalDocument) -> DocumentJSON:
        """``doc``'s JSON text, written once per document object of this message (the
        document row and the EDI set's record store the same JSON), for a JSON column."""
        hit = self.dumped.get(id(doc))
        if hit is None or hit[0] is not doc:
            hit = self.dumped[id(doc)] = (doc, DocumentJSON(doc.model_dump_json()))
        return hit[1]


class StageContext(Protocol):
    """What stages may ask the hub for; the hub implements it per run mode."""

    def partner(self, partner_id: str) -> dict[str, Any] | None: ...

    def find_document(self, idempotency_key: str) -> int | None: ...

    def now(self) -> datetime: ...


Stage = Callable[[Message, StageContext], Message]


@dataclass(slots=True)
class Outcome:
    message: Message
    stage: str | None = None  # the stage that failed
    error: BaseException | None = None
    resolution: Resolution | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def run_stages(
    stages: Sequence[tuple[str, Stage]],
    message: Message,
    ctx: StageContext,
    *,
    overrides: Iterable[Rule] = (),
) -> Outcome:
    timings: dict[str, float] = {}
    for name, stage in stages:
        started = time.perf_counter()
        try:
            message = stage(message, ctx)
        except Exception as error:  # every failure is classified, never swallowed
            timings[name] = time.perf_counter() - started
            return Outcome(message, name, error, classify(error, overrides=overrides), timings)
        timings[name] = time.perf_counter() - started
    return Outcome(message, timings=timings)
