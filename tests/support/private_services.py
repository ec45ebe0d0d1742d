"""A PostgreSQL server and a RabbitMQ node of a test's own, on free ports, from the machine's own
packages (Debian's postgresql and rabbitmq-server): the chaos tests restart these instead of the
shared services, so the rest of the suite runs beside them undisturbed.

Usage:
    with PrivatePostgres() as pg:          # initdb, start; stop and remove on exit
        url = pg.create_database()         # postgresql+psycopg://postgres@127.0.0.1:PORT/NAME
        pg.restart()
    with PrivateRabbitMQ() as mq:
        mq.url                             # amqp://guest:guest@127.0.0.1:PORT//
        mq.restart()                       # stop_app, start_app
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.support.services import free_port, require_service

__all__ = ["PrivatePostgres", "PrivateRabbitMQ"]


def _as(user: str, args: list[str], *, env: dict[str, str] | None = None, timeout: float = 120,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run as ``user`` when we are root (initdb refuses root; RabbitMQ's files belong to rabbitmq)."""
    command = ["runuser", "-u", user, "--", *args] if os.geteuid() == 0 else args
    done = subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


def _workdir(owner: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"crossdock-{owner}-"))
    if os.geteuid() == 0:
        shutil.chown(path, owner, owner)
    return path


class PrivatePostgres:
    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not bins:
            require_service("PostgreSQL", "no /usr/lib/postgresql/*/bin/pg_ctl for a private server")
        self.bin = bins[-1].parent
        self.port = free_port()
        self.dir = _workdir("postgres")
        self.data = self.dir / "data"

    def __enter__(self) -> PrivatePostgres:
        _as("postgres", [str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                         "--no-sync", "-E", "UTF8"])
        self._ctl("start")
        return self

    def __exit__(self, *exc: Any) -> None:
        self._ctl("stop", "-m", "immediate", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _ctl(self, action: str, *extra: str, check: bool = True) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        _as("postgres", [str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"),
                         "-w", "-t", "60", action, *extra], check=check)

    def restart(self) -> None:
        """A real restart: fast shutdown (every connection is ended), then start."""
        self._ctl("restart", "-m", "fast")

    def create_database(self) -> str:
        import psycopg

        name = f"crossdock_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


class PrivateRabbitMQ:
    def __init__(self) -> None:
        if not Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists():
            require_service("RabbitMQ", "no /usr/lib/rabbitmq/bin/rabbitmq-server for a private node")
        self.port, self.dist_port = free_port(), free_port()
        self.node = f"crossdock{self.port}@localhost"
        self.dir = _workdir("rabbitmq")
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n"
                                                "loopback_users.guest = true\n")
        (self.dir / "enabled_plugins").write_text("[].\n")
        self.env = {
            "HOME": "/var/lib/rabbitmq",  # the Erlang cookie rabbitmqctl shares with the node
            "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"), "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.dir / "pid"),
        }
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def __enter__(self) -> PrivateRabbitMQ:
        _as("rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmq-server", "-detached"], env=self.env)
        # -detached returns before the node is reachable; await_startup fails at once (69) until it is
        deadline = time.monotonic() + 150
        while True:
            done = self._ctl("await_startup", "--timeout", "60", check=False, timeout=90)
            if done.returncode == 0:
                return self
            if time.monotonic() > deadline:
                logs = "\n".join(f.read_text(errors="replace")[-2000:] for f in (self.dir / "log").glob("*.log"))
                self.__exit__()
                raise RuntimeError(f"RabbitMQ node {self.node} did not start: {done.stdout}{done.stderr}\n{logs}")
            time.sleep(1)

    def __exit__(self, *exc: Any) -> None:
        self._ctl("stop", check=False, timeout=60)
        pid = self.dir / "pid"
        if pid.exists() and pid.read_text().strip().isdigit():  # a node rabbitmqctl could not reach
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(pid.read_text().strip()), signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _ctl(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return _as("rabbitmq", ["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", self.node, *args], env=self.env,
                   timeout=timeout, check=check)

    def restart(self) -> None:
        """The broker goes away and comes back: connections drop, durable queues stay."""
        self._ctl("stop_app")
        time.sleep(2)
        self._ctl("start_app")
