"""The model registry: trained models as versioned JSON rows, the active one per name, and the
training attempts that failed.

``active`` never raises: a missing model answers ``None`` (the rules decide), a corrupt one
answers ``None`` with a warning that the caller records on its prediction, and the metric
``crossdock_intel_model_fallbacks_total`` counts how often it happened. Training stores a
new version and retires the previous one in one transaction; an attempt that could not
train (too little history, one outcome only) is recorded as a ``training`` decision so the
model card says why there is no model.

Usage:
    registry = ModelRegistry(db)
    model, warning = registry.active("sla_risk")
    registry.store(trained)            # version n+1 becomes active
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import func, select, update

from hub.storage.intel_tables import IntelDecision, IntelModel
from hub.storage.tables import utcnow
from pipelines.intelligence.learned import LinearModel, ModelError, NotEnoughData

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hub.storage.db import Database

__all__ = ["ModelRegistry", "card"]

log = structlog.get_logger("crossdock.models")
_CACHE_SECONDS = 30.0


class ModelRegistry:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[str, tuple[float, int | None, LinearModel | None, str | None]] = {}
        self.fallbacks = 0

    def active(self, name: str) -> tuple[LinearModel | None, str | None]:
        """The active model of ``name`` and a warning when it could not be used."""
        hit = self._cache.get(name)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[2], hit[3]
        with self.db.reader() as s:
            row = s.scalar(select(IntelModel).where(IntelModel.name == name, IntelModel.status == "active")
                           .order_by(IntelModel.version.desc()).limit(1))
            version, artifact = (row.version, row.artifact) if row is not None else (None, None)
        model: LinearModel | None = None
        warning: str | None = None
        if artifact is not None:
            try:
                model = LinearModel.from_json(artifact)
                if model.name != name:
                    raise ModelError(f"the artifact is a {model.name} model")
            except ModelError as exc:
                model, warning = None, f"{name} model v{version} is unusable ({exc}): rules decide"
                self.fallbacks += 1
                log.warning("models.unusable", model=name, version=version, error=str(exc))
        self._cache[name] = (now + _CACHE_SECONDS, version, model, warning)
        return model, warning

    def next_version(self, s: Session, name: str) -> int:
        return int(s.scalar(select(func.max(IntelModel.version)).where(IntelModel.name == name)) or 0) + 1

    def store(self, s: Session, model: LinearModel, *, examples: int) -> IntelModel:
        """Store ``model`` as the active version of its name; the previous one is retired."""
        s.execute(update(IntelModel).where(IntelModel.name == model.name, IntelModel.status == "active")
                  .values(status="retired"))
        row = IntelModel(name=model.name, version=model.version, status="active", window_start=model.window[0],
                         window_end=model.window[1], examples=examples, artifact=model.to_json(),
                         metrics=dict(model.to_json().get("metrics") or {}))
        s.add(row)
        s.flush()
        self._cache.pop(model.name, None)
        log.info("models.trained", model=model.name, version=model.version, examples=examples,
                 brier=row.metrics.get("brier"), auc=row.metrics.get("auc"))
        return row

    def train(self, s: Session, name: str, fit: Callable[[int], LinearModel], *, examples: int) -> dict[str, Any]:
        """Fit the next version of ``name`` with ``fit(version)`` and make it active, or record
        why it could not be trained; returns what happened (the API and CLI show it)."""
        try:
            model = fit(self.next_version(s, name))
        except NotEnoughData as exc:
            self.record_failure(s, name, str(exc), examples=examples)
            return {"model": name, "trained": False, "reason": str(exc), "examples": examples}
        row = self.store(s, model, examples=examples)
        return {"model": name, "trained": True, "version": row.version, "examples": examples, "metrics": row.metrics}

    def record_failure(self, s: Session, name: str, reason: str, *, examples: int) -> None:
        s.add(IntelDecision(kind="training", subject=f"{name} model", model_name=name, status="not_trained",
                            inputs={"examples": examples}, outcome={"reason": reason}))
        log.info("models.not_trained", model=name, reason=reason, examples=examples)

    def forget(self) -> None:
        self._cache.clear()


def card(s: Session, name: str, *, drift: dict[str, Any] | None = None) -> dict[str, Any]:
    """A model card: the active version, its window, metrics and drift, earlier versions, and the
    last training attempt that did not produce a model."""
    rows = list(s.scalars(select(IntelModel).where(IntelModel.name == name).order_by(IntelModel.version.desc())))
    active = next((r for r in rows if r.status == "active"), None)
    failed = s.scalar(select(IntelDecision).where(IntelDecision.kind == "training", IntelDecision.model_name == name)
                      .order_by(IntelDecision.id.desc()).limit(1))
    out: dict[str, Any] = {"name": name, "active_version": active.version if active else None,
                           "fallback": "rules" if active is None else None}
    if active is not None:
        out.update({"trained_at": active.created_at, "training_window": {"start": active.window_start,
                                                                        "end": active.window_end},
                    "examples": active.examples, "metrics": active.metrics, "drift": drift,
                    "features": len((active.artifact or {}).get("feature_names") or [])})
    out["versions"] = [{"version": r.version, "status": r.status, "trained_at": r.created_at,
                        "examples": r.examples, "brier": (r.metrics or {}).get("brier"),
                        "auc": (r.metrics or {}).get("auc")} for r in rows]
    if failed is not None and (active is None or failed.at > active.created_at):
        out["last_attempt"] = {"at": failed.at, "reason": failed.outcome.get("reason"),
                               "examples": failed.inputs.get("examples")}
    out["checked_at"] = utcnow()
    return out
