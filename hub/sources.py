"""Pull connectors configured in partner profiles, polled on each partner's own schedule.

A profile's ``connectors`` list names a kind (``sftp``, ``rest_poll``, ``soap_poll``), how often to poll,
and the kind's config (validated by the connector's own pydantic model at load, with errors
naming partner and field). The supervisor keeps one source per entry, rebuilds it when the
profile changes, polls each in its own thread (a slow 200 MB transfer never holds up the
rest), records the last outcome for ``GET /api/v1/connectors``, and turns a carrier API outage
into a ``carrier_api_failure`` case with the partner's fallback carrier as the recommended action.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from connectors.base import Connector, ConnectorConfig, Inbox, StateStore
from hub.storage.db import Database
from hub.storage.tables import Case, Partner, utcnow
from pipelines.classify import error_code

__all__ = ["KINDS", "ConnectorEntry", "SourceSupervisor", "build_source", "validate_connector_config"]

log = structlog.get_logger("crossdock.sources")


@dataclass(frozen=True, slots=True)
class _Kind:
    """A pull connector, imported when a profile first uses it: paramiko, zeep and their
    dependencies stay out of every process that has no such connector (faster starts)."""

    module: str
    config_name: str
    source_name: str
    per_partner: bool  # the source takes partner_id and name

    @property
    def config_model(self) -> type[ConnectorConfig]:
        model: type[ConnectorConfig] = getattr(importlib.import_module(self.module), self.config_name)
        return model

    def build(self, partner: str, name: str, cfg: ConnectorConfig, inbox: Inbox, state: StateStore,
              node: str) -> Connector:
        source = getattr(importlib.import_module(self.module), self.source_name)
        extra = {"partner_id": partner, "name": name} if self.per_partner else {}
        built: Connector = source(config=cfg, inbox=inbox, state=state, node_id=node, **extra)
        return built


KINDS: dict[str, _Kind] = {
    "sftp": _Kind("connectors.transports.sftp", "SftpConfig", "SftpSource", per_partner=False),
    "rest_poll": _Kind("connectors.transports.rest_poll", "RestPollConfig", "RestPollSource", per_partner=True),
    "soap_poll": _Kind("connectors.transports.soap_poll", "SoapPollConfig", "SoapPollSource", per_partner=True),
}


class ConnectorEntry(BaseModel):
    """One pull connector in a partner profile."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["sftp", "rest_poll", "soap_poll"] = Field(
        description="Which connector: `sftp`, `rest_poll` or `soap_poll`")
    name: str = Field("default", pattern=r"^[A-Za-z0-9_.-]+$", description="Tells two connectors of one partner apart")
    every_seconds: float = Field(60.0, gt=0, description="How often it is polled")
    enabled: bool = Field(True, description="Switch polling off without deleting the config")
    config: dict[str, Any] = Field(description="The connector's own settings (see docs/connectors.md)")


def validate_connector_config(partner_id: str, entry: ConnectorEntry) -> ConnectorConfig:
    """The entry's config as the connector's model; partner id filled in where the model wants it."""
    model = KINDS[entry.type].config_model
    data = dict(entry.config)
    if "partner_id" in model.model_fields:
        data.setdefault("partner_id", partner_id)
    return model.model_validate(data)


def build_source(partner_id: str, entry: ConnectorEntry, *, inbox: Inbox, state: StateStore, node: str) -> Connector:
    config = validate_connector_config(partner_id, entry)
    return KINDS[entry.type].build(partner_id, entry.name, config, inbox, state, node)


@dataclass
class _Running:
    partner_id: str
    entry: ConnectorEntry
    source: Connector
    fingerprint: str
    fallback_carrier: str | None
    role: str = "customer"
    next_run: float = 0.0
    busy: bool = False
    last: dict[str, Any] = field(default_factory=dict)


class SourceSupervisor:
    """Usage: ``sup = SourceSupervisor(db, inbox=..., state=..., node=...); scheduler.every(1, "sources", sup.tick)``."""

    def __init__(self, db: Database, *, inbox: Inbox, state: StateStore, node: str, threads: int = 4,
                 resync_seconds: float = 5.0) -> None:
        self.db = db
        self.inbox = inbox
        self.state = state
        self.node = node
        self.resync_seconds = resync_seconds
        self._running: dict[tuple[str, str], _Running] = {}
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="crossdock-poll")
        self._lock = threading.Lock()
        self._synced_at = 0.0

    def status(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"partner": r.partner_id, "name": r.entry.name, "type": r.entry.type,
                     "every_seconds": r.entry.every_seconds, "polling": r.busy, **r.last}
                    for r in self._running.values()]

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._synced_at >= self.resync_seconds:
            self.sync()
            self._synced_at = now
        with self._lock:
            due = [r for r in self._running.values() if not r.busy and r.next_run <= now]
            for r in due:
                r.busy = True
                r.next_run = now + r.entry.every_seconds
        for r in due:
            self._pool.submit(self._poll, r)

    def sync(self) -> None:
        """Build sources for new or changed profile entries; drop removed ones."""
        wanted: dict[tuple[str, str], tuple[ConnectorEntry, str, str | None, str]] = {}
        with self.db.reader() as s:
            for partner in s.scalars(select(Partner).where(Partner.active.is_(True))):
                for raw in partner.profile.get("connectors") or []:
                    try:
                        entry = ConnectorEntry.model_validate(raw)
                    except ValidationError:
                        continue  # profiles are validated on save; an old invalid one is skipped
                    if entry.enabled:
                        digest = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
                        wanted[(partner.id, entry.name)] = (entry, digest, partner.profile.get("fallback_carrier"),
                                                            partner.role)
        with self._lock:
            for key in [k for k, r in self._running.items() if k not in wanted or r.fingerprint != wanted[k][1]]:
                if not self._running[key].busy:
                    self._close(self._running.pop(key))
            for key, (entry, digest, fallback, role) in wanted.items():
                if key in self._running:
                    continue
                try:
                    source = build_source(key[0], entry, inbox=self.inbox, state=self.state, node=self.node)
                except Exception as exc:  # a bad config must not stop the others: show it instead
                    log.error("source.invalid", partner=key[0], connector=entry.name, error=str(exc))
                    continue
                self._running[key] = _Running(key[0], entry, source, digest, fallback, role)

    def _poll(self, r: _Running) -> None:
        started = utcnow()
        try:
            stored = r.source.poll()
            r.last = {"last_poll_at": started.isoformat(), "last_stored": stored, "last_error": None}
        except Exception as exc:  # recorded and shown; the next poll tries again
            code = error_code(exc)
            r.last = {"last_poll_at": started.isoformat(), "last_stored": 0, "last_error": str(exc)[:500],
                      "last_error_code": code}
            log.warning("source.poll_failed", partner=r.partner_id, connector=r.entry.name, code=code, error=str(exc))
            if code == "carrier.api_failure" or r.role == "carrier":
                self._carrier_case(r, exc)
        finally:
            r.busy = False

    def _carrier_case(self, r: _Running, exc: Exception) -> None:
        """One open case per partner and connector while the outage lasts."""
        fallback = r.fallback_carrier
        with self.db.session() as s:
            open_case = s.scalar(select(Case.id).where(Case.type == "carrier_api_failure", Case.status == "open",
                                                       Case.partner_id == r.partner_id))
            if open_case is not None:
                return
            action = (f"switch_to_fallback_carrier: book with {fallback}" if fallback
                      else "switch_to_fallback_carrier: no fallback carrier in the partner profile")
            s.add(Case(type="carrier_api_failure", severity="high", partner_id=r.partner_id,
                       summary=f"carrier API of {r.partner_id} failed: {exc}"[:2000],
                       details={"connector": r.entry.name, "error": str(exc)[:1000],
                                "recommended_action": action, "fallback_carrier": fallback}))

    def _close(self, r: _Running) -> None:
        closer = getattr(r.source, "close", None)
        if callable(closer):
            closer()

    def stop(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for r in self._running.values():
                self._close(r)
            self._running.clear()
