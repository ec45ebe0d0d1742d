"""The embedded default: one process, worker threads, an in-process queue of job ids.

The queue only carries ids; the database holds the work. At start every open job is
queued again (a crash or kill -9 left them open); a scheduler sweep picks up retries
that fall due. SIGTERM drains: workers finish the job in hand, the rest stays queued.
A file lock makes sure only one embedded process works one database.
"""

from __future__ import annotations

import fcntl
import os
import queue
import threading
from pathlib import Path
from typing import IO

import structlog
from sqlalchemy import select

from hub.runtime.processing import OPEN_STATES, Processor
from hub.scheduler import Scheduler
from hub.storage.db import Database
from hub.storage.tables import Job, utcnow

__all__ = ["AlreadyRunning", "EmbeddedRuntime"]

log = structlog.get_logger("crossdock.runtime")

BATCH_MAX = 16  # jobs a worker takes at once (one write transaction for their outcomes)


class AlreadyRunning(RuntimeError):
    pass


class EmbeddedRuntime:
    def __init__(self, db: Database, processor: Processor, scheduler: Scheduler, *, workers: int,
                 interval: float, lock_path: Path | None) -> None:
        self.db = db
        self.processor = processor
        self.scheduler = scheduler
        self.workers = workers
        self.interval = interval
        self.lock_path = lock_path
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._pending: set[int] = set()
        self._pending_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock_file: IO[str] | None = None
        self.local = scheduler  # one process: its node tasks and the hub's tasks are one scheduler
        scheduler.every(interval, "due-jobs", self.sweep)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._take_lock()
        for i in range(self.workers):
            t = threading.Thread(target=self._work, name=f"crossdock-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._tick, name="crossdock-scheduler", daemon=True)
        t.start()
        self._threads.append(t)
        recovered = self.sweep(include_future=False)
        log.info("runtime.started", mode="embedded", workers=self.workers, recovered=recovered)

    def stop(self, timeout: float = 30.0) -> None:
        """Drain: no new jobs are taken; the jobs in hand finish; the rest stays queued."""
        self._stop.set()
        for _ in range(self.workers):
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout)
        self.release_lock()
        log.info("runtime.stopped", left_queued=max(0, self._queue.qsize() - self.workers))

    def release_lock(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def _take_lock(self) -> None:
        if self.lock_path is None:
            return
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        f = self.lock_path.open("a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise AlreadyRunning(
                f"another embedded Crossdock works this database (lock {self.lock_path}); "
                "stop it, or use distributed mode for several processes") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._lock_file = f

    # ------------------------------------------------------------------- queueing
    def submit(self, job_id: int) -> None:
        with self._pending_lock:
            if job_id in self._pending or self._stop.is_set():
                return
            self._pending.add(job_id)
        self._queue.put(job_id)

    def sweep(self, include_future: bool = False) -> int:
        """Queue open jobs that are due (all open jobs at start, after a crash)."""
        now = utcnow()
        with self.db.reader() as s:
            stmt = select(Job.id).where(Job.status.in_(OPEN_STATES)).order_by(Job.id)
            if not include_future:
                stmt = stmt.where(Job.next_attempt_at <= now)
            ids = list(s.scalars(stmt.limit(10_000)))
        for job_id in ids:
            self.submit(job_id)
        return len(ids)

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._stop.is_set()

    def backlog(self) -> int:
        return self._queue.qsize()

    # -------------------------------------------------------------------- threads
    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None or self._stop.is_set():
                return
            # The jobs waiting behind it join it, up to BATCH_MAX: one commit for their outcomes
            # (``Processor.process_many``); a lone job runs as before.
            batch, last = [job_id], False
            while len(batch) < BATCH_MAX:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:  # stopping: finish this batch, then leave
                    last = True
                    break
                batch.append(more)
            try:
                self.processor.process_many(batch)
            except Exception:  # the jobs stay open and are swept again; never lost
                log.exception("job.crashed", job_ids=batch)
            finally:
                with self._pending_lock:
                    self._pending.difference_update(batch)
            if last:
                return

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self.scheduler.tick()
