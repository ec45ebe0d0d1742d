"""Distributed mode for tests: `crossdock serve` + workers + schedulers as real subprocesses.

Each cluster gets its own RabbitMQ queues (a random ``CROSSDOCK_QUEUE_PREFIX``) and is handed
its own PostgreSQL database, so parallel test runs never see each other's messages.

Usage:
    cluster = Cluster(tmp_path / "hub", database_url=url, workers=2).start()
    cluster.client.post(...); cluster.workers[0].kill(); cluster.close()
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from tests.support.hubproc import BIN, HubProcess
from tests.support.services import free_port, require_service

__all__ = ["BROKER_URL", "Cluster", "Role", "broker_available"]

BROKER_URL = os.environ.get("CROSSDOCK_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672//")


def broker_available(url: str = BROKER_URL) -> str | None:
    """None if RabbitMQ answers, else why not."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
        return None
    except Exception as exc:
        return f"{url.split('@')[-1]}: {exc}"


class Role:
    """One `crossdock worker|scheduler` subprocess with its own log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.name, self.args, self.env, self.cwd = name, args, env, cwd
        self.log_path = cwd / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.offset = 0

    def start(self) -> Role:
        if self.alive:
            return self
        self.offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([str(BIN / "crossdock"), *self.args], env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.cwd)
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 40.0) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def ready(self) -> bool:
        """The Celery worker started since the last ``start`` says it consumes."""
        return " ready." in self.logs()[self.offset:]


class Cluster(HubProcess):
    """A `HubProcess` whose serve runs in distributed mode, plus its workers and schedulers."""

    def __init__(self, data_dir: Path, *, database_url: str, workers: int = 1, concurrency: int = 2,
                 schedulers: int = 1, env: dict[str, str] | None = None, port: int | None = None,
                 broker_url: str = BROKER_URL) -> None:
        if database_url.startswith("sqlite"):
            raise ValueError("distributed mode runs on PostgreSQL")
        self.prefix = f"cdk-t-{uuid.uuid4().hex[:10]}"
        self.broker_url = broker_url
        super().__init__(data_dir, database_url=database_url, port=port, env={
            "CROSSDOCK_MODE": "distributed", "CROSSDOCK_BROKER_URL": broker_url,
            "CROSSDOCK_QUEUE_PREFIX": self.prefix, "CROSSDOCK_SCHEDULER_LEASE_SECONDS": "2", **(env or {})})
        data_dir.mkdir(parents=True, exist_ok=True)
        self.metrics_ports = [free_port() for _ in range(workers)]
        self.workers = [Role(f"worker-{i}", ["worker", "--concurrency", str(concurrency), "--metrics-port",
                                             str(self.metrics_ports[i])], self.env, data_dir)
                        for i in range(workers)]
        self.schedulers = [Role(f"scheduler-{i}", ["scheduler"], self.env, data_dir) for i in range(schedulers)]

    def start(self, timeout: float = 120.0) -> Cluster:
        why = broker_available(self.broker_url)
        deadline = time.monotonic() + 60
        while why is not None and time.monotonic() < deadline:  # still starting, or being restarted
            time.sleep(1)
            why = broker_available(self.broker_url)
        if why is not None:
            require_service("RabbitMQ", why)
        try:
            # all at once: the test databases come migrated (serve's own upgrade then finds nothing to do)
            for role in (*self.workers, *self.schedulers):
                role.start()
            super().start(timeout)
            for role in self.workers:
                self.wait_ready(role, timeout)
        except BaseException:
            self.close()
            raise
        return self

    def wait_ready(self, role: Role, timeout: float = 30.0) -> None:
        """Until the Celery worker says it consumes (its log line ``... ready.``)."""
        self.wait_for(lambda: role.ready or not role.alive, timeout=timeout, interval=0.1)
        if not role.alive:
            raise RuntimeError(f"{role.name} exited:\n{role.logs()[-3000:]}")

    def add_worker(self, concurrency: int = 2) -> Role:
        role = Role(f"worker-{len(self.workers)}", ["worker", "--concurrency", str(concurrency)], self.env,
                    self.data_dir)
        self.workers.append(role)
        role.start()
        self.wait_ready(role)
        return role

    def logs(self) -> str:
        return "\n".join([super().logs(), *(r.logs() for r in (*self.workers, *self.schedulers))])

    def wait_for(self, predicate: Any, timeout: float = 60.0, interval: float = 0.1) -> Any:
        return super().wait_for(predicate, timeout, interval)

    def close(self) -> None:
        for role in (*self.workers, *self.schedulers):
            role.kill()
        super().close()
        self._delete_queues()

    def _delete_queues(self) -> None:
        from kombu import Connection

        try:
            with Connection(self.broker_url, connect_timeout=3) as conn:
                channel = conn.default_channel
                for kind in ("ingest", "deliver"):
                    channel.queue_delete(f"{self.prefix}.{kind}")
                channel.exchange_delete(self.prefix)
        except Exception:  # the broker may be restarting in a chaos test; queues are tiny
            pass
