"""A real ``crossdock serve`` subprocess on a free port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.services import free_port, probe

__all__ = ["ADMIN_KEY", "HubProcess"]

ADMIN_KEY = "cdk_testadmin_0123456789abcdefghijklmnopqrstuvwxyz"
BIN = Path(sys.executable).parent


class HubProcess:
    """Start, kill -9, stop (SIGTERM) and restart a hub; ``client`` talks to it as admin.

    Usage:
        hub = HubProcess(tmp_path, database_url=url); hub.start()
        hub.client.post("/api/v1/partners", json={...})
    """

    def __init__(self, data_dir: Path, *, database_url: str | None = None, env: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "CROSSDOCK_DATA_DIR": str(data_dir),
            "CROSSDOCK_PORT": str(self.port),
            "CROSSDOCK_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
            "CROSSDOCK_LOG_FORMAT": "json",
            "CROSSDOCK_RETRY_INITIAL_SECONDS": "0.2",
            "CROSSDOCK_RETRY_MAX_SECONDS": "2",
            "CROSSDOCK_SCHEDULER_INTERVAL_SECONDS": "0.2",
            "CROSSDOCK_WATCH_INTERVAL_SECONDS": "0.2",
            "CROSSDOCK_SETTLE_SECONDS": "0.2",
            # agents, predictions and flow checks only where a test asks (they add case events)
            "CROSSDOCK_INTEL_INTERVAL_SECONDS": "86400",
            **({"CROSSDOCK_DATABASE_URL": database_url} if database_url else {}),
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "serve.log"
        self.client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                                   timeout=30)

    def start(self, timeout: float = 30.0) -> HubProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([str(BIN / "crossdock"), "serve"], env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, cwd=self.data_dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"crossdock serve exited with {self.proc.returncode}:\n{self.logs()[-4000:]}")
            try:
                if probe().get(f"{self.url}/healthz").status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()  # never leave a half-started server running behind a failed test
        raise RuntimeError(f"crossdock serve did not answer within {timeout}s:\n{self.logs()[-4000:]}")

    def kill(self) -> None:
        """kill -9: no drain, no cleanup."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 40.0) -> int:
        """SIGTERM: drain and exit."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout)
        return self.proc.returncode if self.proc else 0

    def restart(self) -> HubProcess:
        self.stop()
        return self.start()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def add_partner(self, partner_id: str, **profile: Any) -> dict[str, Any]:
        r = self.client.post("/api/v1/partners", json={"id": partner_id, "name": partner_id.title(), **profile})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def wait_for(self, predicate: Any, timeout: float = 30.0, interval: float = 0.1) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s\n--- hub log ---\n{self.logs()[-3000:]}")
            time.sleep(interval)

    def close(self) -> None:
        self.kill()
        self.client.close()
