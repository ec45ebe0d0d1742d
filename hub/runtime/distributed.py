"""Distributed mode: Celery on RabbitMQ carries job ids; PostgreSQL holds the work.

Three roles, one code path (``Processor.process``), chosen by command:

* ``crossdock serve`` — API and transports. After a receipt's commit, ``submit`` hands its
  job id to a publisher thread that publishes with confirms and marks ``published_at``; the
  relay sweep (``hub.runtime.relay``) publishes anything a crash left unpublished, plus
  deliver jobs (in key order) and retries that fell due.
* ``crossdock worker`` — a Celery worker (threads) on the quorum queues ``<prefix>.ingest``
  and ``<prefix>.deliver``; ``acks_late`` and ``task_reject_on_worker_lost`` so a killed
  worker's messages go back to the queue; ``CROSSDOCK_WORKER_PREFETCH`` (4) messages per thread.
  A message carries one job id, or up to ``CROSSDOCK_JOB_BATCH`` (20) of a serve's new ingest
  jobs, which a worker runs in one PostgreSQL transaction (``Processor.process_many``).
* ``crossdock scheduler`` — the relay sweep and every task on the hub's ``Scheduler``, run
  by whichever scheduler process holds the lease (``hub.runtime.leader``).

No ``autoretry_for``: a failure is classified and retried by the hub's own policy, exactly
as in the embedded default, and dead letters are database rows.

Usage:
    runtime = DistributedRuntime(db, processor, scheduler, settings=settings)
    runtime.start(); runtime.submit(job_id)           # in `crossdock serve`
    run_worker(runtime, concurrency=4)                # in `crossdock worker`
"""

from __future__ import annotations

import os
import queue
import threading
import time

import structlog
from celery import Celery
from celery.exceptions import Reject
from celery.worker.consumer import Consumer
from kombu.entity import Exchange, Queue

from hub.runtime.processing import Processor
from hub.runtime.relay import Relay
from hub.scheduler import Scheduler
from hub.settings import Settings
from hub.storage.db import Database

__all__ = ["TASK_NAME", "DistributedRuntime", "JobConsumer", "make_celery", "queue_names", "run_worker"]

log = structlog.get_logger("crossdock.runtime")
TASK_NAME = "crossdock.process"
KINDS = ("ingest", "deliver")


def queue_names(prefix: str) -> dict[str, str]:
    """``{"ingest": "<prefix>.ingest", "deliver": "<prefix>.deliver"}``: a slow ERP never starves intake."""
    return {kind: f"{prefix}.{kind}" for kind in KINDS}


class JobConsumer(Consumer):  # type: ignore[misc]  # celery is untyped
    """Celery's consumer without native delayed delivery: the hub never publishes ETA tasks
    (a retry waits in the database), so the ``celery_delayed_*`` queues are not wanted."""

    class Blueprint(Consumer.Blueprint):  # type: ignore[misc]
        default_steps = [s for s in Consumer.Blueprint.default_steps if "delayed_delivery" not in s]


def make_celery(settings: Settings) -> Celery:
    """The Celery app: quorum queues, late acks, publisher confirms, a small prefetch, no result backend."""
    app = Celery("crossdock", broker=settings.broker_url, set_as_current=False)
    exchange = Exchange(settings.queue_prefix, type="direct", durable=True)  # type: ignore[no-untyped-call]
    names = queue_names(settings.queue_prefix)
    app.conf.update(
        task_queues=[Queue(name, exchange, routing_key=name, durable=True,  # type: ignore[no-untyped-call]
                           queue_arguments={"x-queue-type": "quorum"}) for name in names.values()],
        task_default_queue=names["ingest"], task_default_exchange=settings.queue_prefix,
        task_default_routing_key=names["ingest"], task_create_missing_queues=False,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=settings.worker_prefetch,
        task_ignore_result=True, result_backend=None, task_serializer="json", accept_content=["json"],
        broker_transport_options={"confirm_publish": True}, broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None, broker_heartbeat=10, task_publish_retry=True,
        worker_hijack_root_logger=False, worker_redirect_stdouts=False, worker_send_task_events=False,
        worker_cancel_long_running_tasks_on_connection_loss=False, worker_enable_remote_control=False,
        worker_consumer=f"{__name__}:JobConsumer",
    )
    return app


class DistributedRuntime:
    """The ``Runtime`` of distributed mode (see the module docstring for the three roles)."""

    def __init__(self, db: Database, processor: Processor, scheduler: Scheduler, *, settings: Settings) -> None:
        self.db = db
        self.processor = processor
        self.scheduler = scheduler
        self.settings = settings
        self.celery = make_celery(settings)
        self.queues = queue_names(settings.queue_prefix)
        self.relay = Relay(db, publish=self.publish, republish_after=settings.republish_after_seconds)
        self.local = Scheduler()
        self._pending: queue.Queue[int | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._publish_lock = threading.Lock()
        self.celery.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True)(self._run)
        interval = settings.scheduler_interval_seconds
        scheduler.every(interval, "relay", self.relay.sweep)
        self.local.every(interval, "relay", self.relay.sweep)

    # ------------------------------------------------------------- serve: publishing
    def publish(self, job_id: int, kind: str) -> None:
        """Publish one job id and wait for the broker's confirm (raises if there is none)."""
        self._send([job_id], kind)

    def _send(self, job_ids: list[int], kind: str) -> None:
        """One message carrying ``job_ids`` (a worker runs them in one transaction), confirmed."""
        name = self.queues.get(kind, self.queues["ingest"])
        with self._publish_lock:  # one confirmed channel per process; publishes are short
            self.celery.send_task(TASK_NAME, args=tuple(job_ids), queue=name)

    def submit(self, job_id: int) -> None:
        if self._threads and not self._stop.is_set():
            self._pending.put(job_id)
            return
        try:  # not serving (a CLI command): publish right here; the relay covers a failure
            self.publish(job_id, "ingest")
            self.relay.mark_published([job_id])
        except Exception as exc:
            log.warning("relay.publish_failed", job_id=job_id, error=str(exc)[:200])

    def start(self) -> None:
        for name, target in (("crossdock-publisher", self._publisher), ("crossdock-node-scheduler", self._tick)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        log.info("runtime.started", mode="distributed", role="serve", queues=list(self.queues.values()))

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._pending.put(None)
        for t in self._threads:
            t.join(timeout)
        log.info("runtime.stopped", left_unpublished=self._pending.qsize())

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._stop.is_set()

    def backlog(self) -> int:
        return self._pending.qsize()

    def _publisher(self) -> None:
        while True:
            first = self._pending.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < 200:
                try:
                    nxt = self._pending.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._stop.set()
                    break
                batch.append(nxt)
            done: list[int] = []
            size = self.settings.job_batch
            try:
                for at in range(0, len(batch), size):  # a burst goes out CROSSDOCK_JOB_BATCH jobs a message
                    self._send(batch[at:at + size], "ingest")
                    done += batch[at:at + size]
            except Exception as exc:  # broker away: the relay sweep publishes the rest later
                log.warning("relay.publish_failed", jobs=len(batch) - len(done), error=str(exc)[:200])
            try:
                self.relay.mark_published(done)
            except Exception as exc:  # unmarked means published again: harmless
                log.warning("relay.mark_failed", jobs=len(done), error=str(exc)[:200])
            if self._stop.is_set() and self._pending.empty():
                return

    def _tick(self) -> None:
        while not self._stop.wait(self.settings.scheduler_interval_seconds):
            self.local.tick()

    # ------------------------------------------------------------------- worker: tasks
    def _run(self, *job_ids: int) -> str:
        """A message's jobs: one (a delivery, a sweep's publish) or a serve's burst of new ingest
        jobs, run in one transaction (``Processor.process_many``). A job that crashed is released
        for the next sweep; if the database is away even for that, the message goes back."""
        if len(job_ids) == 1:
            try:
                return self.processor.process(job_ids[0])
            except Exception:
                log.exception("job.crashed", job_id=job_ids[0])
            crashed = list(job_ids)
        else:
            try:  # each job's crash is logged and reported as "crashed"
                statuses = self.processor.process_many(list(job_ids))
            except Exception:
                log.exception("jobs.crashed", job_ids=list(job_ids))
                statuses = ["crashed"] * len(job_ids)
            crashed = [job_id for job_id, status in zip(job_ids, statuses, strict=True) if status == "crashed"]
            if not crashed:
                return ",".join(statuses)
        try:
            for job_id in crashed:
                self.relay.release(job_id)  # the next sweep publishes it again
            return "released"
        except Exception:  # the database is away too: give the message back, slowly
            time.sleep(1.0)
            raise Reject("database unavailable", requeue=True) from None


def run_worker(runtime: DistributedRuntime, *, concurrency: int, loglevel: str = "WARNING",
               metrics_port: int = 0) -> None:
    """Run a Celery worker (thread pool) on both queues until SIGTERM (warm shutdown).

    Stage latencies, outcomes and retries are counted where jobs run: with ``metrics_port``
    the worker serves them at ``http://<CROSSDOCK_HOST>:<port>/metrics`` for Prometheus.
    """
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=runtime.settings.host, registry=runtime.processor.metrics.registry)
    runtime.celery.worker_main([
        "worker", "--pool=threads", f"--concurrency={concurrency}", f"--loglevel={loglevel}",
        f"--queues={','.join(runtime.queues.values())}", "--without-gossip", "--without-mingle",
        "--without-heartbeat", f"--hostname=crossdock-worker-{os.getpid()}@%h",
    ])
