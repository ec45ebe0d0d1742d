"""Exactly one active scheduler across processes: a lease in the database, renewed each tick.

``crossdock scheduler`` may run on several machines; the one holding the ``scheduler``
lease (``connector_state`` row, ``DatabaseStateStore.try_lease``) ticks the hub's
``Scheduler`` (due retries through the relay, SLA timers, reconciliation); the others wait
as standbys and take over once the holder has not renewed the lease for ``ttl`` seconds
(it died, or lost the database). A lease rather than a PostgreSQL advisory lock because it
survives a database restart without a session to re-establish and works the same on SQLite;
every scheduled task is idempotent, so the short overlap a frozen holder could cause at the
end of its lease does no harm.

Usage:
    leader = Leader(db, scheduler, ttl=10, interval=1)
    leader.run(stop_event)          # blocks until stop_event is set
"""

from __future__ import annotations

import os
import socket
import threading

import structlog

from hub.scheduler import Scheduler
from hub.state import DatabaseStateStore
from hub.storage.db import Database

__all__ = ["LEASE_KEY", "Leader"]

log = structlog.get_logger("crossdock.scheduler")
LEASE_KEY = "runtime:scheduler"


class Leader:
    def __init__(self, db: Database, scheduler: Scheduler, *, ttl: float, interval: float,
                 owner: str | None = None) -> None:
        self.store = DatabaseStateStore(db)
        self.scheduler = scheduler
        self.ttl = ttl
        self.interval = interval
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.leading = False

    def step(self) -> bool:
        """Renew (or try to take) the lease; tick the scheduler if held. Returns whether leading."""
        try:
            leading = self.store.try_lease(LEASE_KEY, self.owner, self.ttl)
        except Exception as exc:  # database away: stop acting, the lease runs out on its own
            log.warning("scheduler.lease_unavailable", error=str(exc)[:200])
            leading = False
        if leading != self.leading:
            log.info("scheduler.leading" if leading else "scheduler.standby", owner=self.owner)
            self.leading = leading
        if leading:
            self.scheduler.tick()
        return leading

    def run(self, stop: threading.Event) -> None:
        log.info("scheduler.started", owner=self.owner, lease_seconds=self.ttl)
        try:
            while not stop.is_set():
                self.step()
                stop.wait(self.interval)
        finally:
            if self.leading:
                try:  # hand over at once on a clean stop instead of after the lease runs out
                    self.store.release_lease(LEASE_KEY, self.owner)
                except Exception:
                    log.warning("scheduler.release_failed", owner=self.owner)
            log.info("scheduler.stopped", owner=self.owner)
