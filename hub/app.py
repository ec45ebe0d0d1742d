"""The hub: wires storage, inbox, processor, runtime and API into one application.

Usage:
    app = create_app(Settings())      # what `crossdock serve` runs under uvicorn
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from sqlalchemy import select

from connectors.transports.directory import DirectoryConfig, DirectorySource
from hub.auth import Principal, create_key, hash_key
from hub.edi import api as edi_api
from hub.erp.documents import ErpDocumentFeed
from hub.erp.purchasing import ErpPurchaseOrderFeed
from hub.erp.refdata_sync import ErpReferenceSync
from hub.inbox import BlobStore, DatabaseInbox
from hub.intel.service import Intelligence
from hub.metrics import Metrics
from hub.ops.kpis import KpiCollector
from hub.ops.timers import SlaTimers
from hub.partners import load_profile_files
from hub.reconcile import Reconciler
from hub.runtime.base import Runtime
from hub.runtime.embedded import EmbeddedRuntime
from hub.runtime.notify import Notifier
from hub.runtime.processing import Processor
from hub.scheduler import Scheduler
from hub.settings import Settings
from hub.sources import SourceSupervisor
from hub.state import DatabaseStateStore
from hub.storage.db import Database
from hub.storage.migrate import upgrade
from hub.storage.tables import ApiKey

__all__ = ["Hub", "create_app"]

log = structlog.get_logger("crossdock.hub")


class Hub:
    """Everything one process needs; the API reaches it as ``request.app.state.hub``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.effective_database_url)
        self.blobs = BlobStore(settings.blob_dir)
        self.metrics = Metrics(self.db)
        self.metrics.registry.register(KpiCollector(self.db))
        self.notifier = Notifier()
        self.scheduler = Scheduler()
        self.key_cache: dict[str, tuple[Principal, float]] = {}
        self.processor = Processor(self.db, settings, blobs=self.blobs, metrics=self.metrics,
                                   notify=self.notifier.done)
        # Timed checks (missing 855, waiting revisions ...): here, so `crossdock scheduler` runs them too.
        # Every 5 s: SLAs are hours; a pass reads the last 30 days of documents (timers.LOOKBACK).
        self.scheduler.every(5.0, "sla-timers", SlaTimers(self.db, self.processor.context.refdata).run)
        self.scheduler.every(settings.reconcile_interval_seconds, "reconcile", Reconciler(self.db).scheduled)
        self.scheduler.every(settings.scheduler_interval_seconds, "edi-send", edi_api.edi_sender(self))  # outbound EDI
        if settings.erp_poll_seconds:  # what changed in the ERP: reference data in, 856/810 out (delta reads)
            self.scheduler.every(settings.erp_poll_seconds, "erp-refdata", ErpReferenceSync(self.db).run)
            self.scheduler.every(settings.erp_poll_seconds, "erp-documents", ErpDocumentFeed(self.db).run)
            self.scheduler.every(settings.erp_poll_seconds, "erp-purchase-orders", ErpPurchaseOrderFeed(self.db).run)
        self.runtime: Runtime
        if settings.mode == "distributed":
            from hub.runtime.distributed import DistributedRuntime

            self.runtime = DistributedRuntime(self.db, self.processor, self.scheduler, settings=settings)
        else:
            self.runtime = EmbeddedRuntime(
                self.db, self.processor, self.scheduler, workers=settings.workers,
                interval=settings.scheduler_interval_seconds,
                lock_path=settings.data_dir / "crossdock.lock" if self.db.is_sqlite else None,
            )
        # Agents, SLA-risk predictions, learned priority and flow anomaly checks (scheduler process)
        self.intel = Intelligence(self.db, settings, self.processor.context.refdata, submit=self.runtime.submit)
        # on their own threads: a pass or a training must not hold up the timers and the relay
        self.scheduler.every(settings.intel_interval_seconds, "intel",
                             self.intel.in_background("intel", self.intel.tick))
        self.scheduler.every(settings.intel_retrain_hours * 3600, "intel-retrain",
                             self.intel.in_background("retrain", self.intel.retrain), first_in=600.0)
        self.inbox = DatabaseInbox(self.db, blobs=self.blobs, inline_max=settings.inline_raw_max_bytes,
                                   max_bytes=settings.max_body_bytes, on_stored=self.runtime.submit)
        self.state = DatabaseStateStore(self.db)
        # Files and pulled pages are not bounded by the HTTP body limit (they stream to blobs).
        self.file_inbox = DatabaseInbox(self.db, blobs=self.blobs, inline_max=settings.inline_raw_max_bytes,
                                        on_stored=self.runtime.submit)
        self.sources = SourceSupervisor(self.db, inbox=self.file_inbox, state=self.state,
                                        node=f"{socket.gethostname()}-{os.getpid()}")
        self.watcher: DirectorySource | None = None
        watch = settings.effective_watch_dir
        if watch is not None:
            self.watcher = DirectorySource(config=DirectoryConfig(root=watch, settle_seconds=settings.settle_seconds),
                                           inbox=self.file_inbox)

    def start(self) -> None:
        upgrade(self.db.url)
        with self.db.session() as s:
            if self.settings.partners_dir is not None and self.settings.partners_dir.is_dir():
                loaded = load_profile_files(s, self.settings.partners_dir)
                log.info("partners.loaded", count=len(loaded), directory=str(self.settings.partners_dir))
            self._bootstrap_key(s)
        if self.watcher is not None:
            self.watcher.config.root.mkdir(parents=True, exist_ok=True)
            # Embedded: this is the only process, so every claim left is ours from before a crash.
            self.watcher.recover(all_claims=self.settings.mode == "embedded")
            self.runtime.local.every(self.settings.watch_interval_seconds, "watch-directory", self.watcher.poll)
            if self.settings.mode == "distributed":  # a node that died leaves claims: release them after a while
                self.runtime.local.every(60.0, "directory-claims", self.watcher.recover)
        self.scheduler.every(1.0, "pull-connectors", self.sources.tick)
        self.runtime.start()

    def _bootstrap_key(self, s: Any) -> None:
        if s.scalar(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1)) is not None:
            return
        secret = self.settings.bootstrap_admin_key
        if secret is None:
            log.warning("no API keys yet: create one with `crossdock apikey create --name you --role admin`")
            return
        row, _ = create_key(s, name="bootstrap", role="admin")
        row.key_hash = hash_key(secret.get_secret_value())

    def stop(self) -> None:
        self.runtime.stop()
        self.sources.stop()
        self.db.dispose()


def create_app(settings: Settings | None = None, *, hub: Hub | None = None) -> FastAPI:
    # The routes are imported here: workers and schedulers build a Hub and serve no API.
    from hub.api import admin, deadletters, documents, inbound, ops, webhooks
    from hub.api import cases as cases_api
    from hub.api import intel as intel_api
    from hub.api import kpis as kpis_api
    from hub.api import outbox as outbox_api
    from hub.api import reconcile as reconcile_api
    from hub.api import refdata as refdata_api
    from hub.api.problems import install_problem_handlers

    settings = settings or Settings()
    the_hub = hub or Hub(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        the_hub.start()
        log.info("hub.ready", host=settings.host, port=settings.port, mode=settings.mode,
                 database=settings.effective_database_url.split("@")[-1])
        try:
            yield
        finally:
            the_hub.stop()

    app = FastAPI(
        title="Crossdock", version="0.1.0", lifespan=lifespan,
        description="Integration hub for wholesale distributors. Every route but /healthz and /metrics "
                    "needs `Authorization: Bearer <API key>`.",
    )
    app.state.hub = the_hub
    install_problem_handlers(app)
    for module in (ops, inbound, webhooks, documents, deadletters, cases_api, kpis_api, refdata_api,
                   outbox_api, reconcile_api, intel_api, admin):
        app.include_router(module.router)
    edi_api.mount(app, the_hub)  # POST /as2, /api/v1/inbound/edi, outbound EDI
    return app
