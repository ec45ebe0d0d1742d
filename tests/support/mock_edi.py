"""The real mock-edi trading partner, as a subprocess, for Crossdock's tests.

``start_mock_edi()`` runs ``python -m mockedi`` on a free 127.0.0.1 port with a temporary
``--db``, waits for ``GET /_mock/health``, and stops it (SIGTERM, then SIGKILL) on exit.
Its stderr goes to a file and is printed at teardown, so pytest shows it beside a
failing test. :class:`MockEdiClient` is a small typed client for the ``/_mock`` API.

Usage (in a conftest.py):
    from tests.support.mock_edi import mock_edi, mock_edi_factory  # noqa: F401  fixtures

    def test_order(mock_edi: MockEdi) -> None:
        mock_edi.client.patch_partner("ACME", as2_url="http://127.0.0.1:9000/as2")
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.services import probe

__all__ = ["MAP_OVERRIDES", "MockEdi", "MockEdiClient", "MockEdiError", "free_port", "mock_edi",
           "mock_edi_factory", "start_mock_edi"]

JSON = Any

# What a Crossdock partner profile for mock-edi 0.9.0 needs in ``edi.map_overrides``, by set:
# its ACK01 (668) list has nine codes and no BP ("accepted, partial shipment, balance
# backordered"), so a line partly filled now is written IQ (accepted, quantity changed) before
# the IB balance — mock-edi's own way of saying it as a seller. mock-edi reads the first ACK.
# The 855 and the 865 (its POC loops) share that code list.
MAP_OVERRIDES: dict[str, dict[str, Any]] = {
    s: {"codes": {"line_status": {"IQ": "partially_backordered"}}} for s in ("855", "865")
}


class MockEdiError(RuntimeError):
    """mock-edi answered with an unexpected status; carries what it said."""

    def __init__(self, method: str, path: str, response: httpx.Response) -> None:
        super().__init__(f"{method} {path} -> HTTP {response.status_code}: "
                         f"{response.text[:500]}")
        self.status_code = response.status_code
        self.response = response


class MockEdiClient:
    """Typed calls to mock-edi's control plane (``/_mock``) and its doors."""

    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, *, json: JSON = None,
             params: dict[str, Any] | None = None, expect: Sequence[int] = (200, 201)
             ) -> httpx.Response:
        response = self.http.request(method, path, json=json, params=params)
        if response.status_code not in expect:
            raise MockEdiError(method, path, response)
        return response

    # -- health and state
    def health(self) -> dict[str, Any]:
        return dict(self.call("GET", "/_mock/health").json())

    def state(self) -> dict[str, Any]:
        return dict(self.call("GET", "/_mock/state").json())

    def reset(self) -> dict[str, Any]:
        return dict(self.call("POST", "/_mock/reset").json())

    # -- partners
    def partners(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/_mock/partners").json())

    def partner(self, partner_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/_mock/partners/{partner_id}").json())

    def add_partner(self, partner_id: str, **fields: Any) -> dict[str, Any]:
        """``role="supplier"`` makes mock-edi buy from it; ``as2_url`` makes it deliver."""
        return dict(self.call("POST", "/_mock/partners", json={"id": partner_id, **fields}).json())

    def patch_partner(self, partner_id: str, **changes: Any) -> dict[str, Any]:
        return dict(self.call("PATCH", f"/_mock/partners/{partner_id}", json=changes).json())

    # -- buying (mock-edi as the buyer)
    def purchase(self, partner: str, lines: list[dict[str, str]], *,
                 po_number: str | None = None, **extra: Any) -> dict[str, Any]:
        body = {"partner": partner, "lines": lines, **extra}
        if po_number:
            body["po_number"] = po_number
        return dict(self.call("POST", "/_mock/purchase", json=body).json())

    # -- what went where
    def outbox(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/_mock/outbox").json())

    def resend(self, outbound_id: int) -> dict[str, Any]:
        return dict(self.call("POST", f"/_mock/outbox/{outbound_id}/resend").json())

    def mdns(self) -> list[dict[str, Any]]:
        """Receipts both ways: ``direction`` "in" (ours to it) or "out" (its to us)."""
        return list(self.call("GET", "/_mock/mdns").json())

    def interchanges(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/_mock/interchanges").json())

    def mailbox(self, *, partner: str | None = None, leave: bool = True) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"partner": partner} if partner else {}
        if leave:
            params["leave"] = "1"
        return list(self.call("GET", "/_mock/mailbox", params=params).json())

    def order(self, po_number: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/_mock/orders/{po_number}").json())

    def timeline(self, po_number: str) -> JSON:
        return self.call("GET", f"/_mock/orders/{po_number}/timeline").json()

    def advance(self, *, seconds: float | None = None, everything: bool = False
                ) -> dict[str, Any]:
        params: dict[str, Any] = {"all": "1"} if everything else {"seconds": seconds or 0}
        return dict(self.call("POST", "/_mock/advance", params=params).json())

    def requests(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/_mock/requests").json())

    def wait_for(self, predicate: Callable[[], bool], *, timeout: float = 10.0,
                 what: str = "condition") -> None:
        """Poll until ``predicate()`` holds (mock-edi delivers on a background thread)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"mock-edi: timed out after {timeout}s waiting for {what}")
            time.sleep(0.05)


@dataclass
class MockEdi:
    """A running mock-edi: where it listens, its files, and a client."""

    base_url: str
    port: int
    db_path: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    client: MockEdiClient

    @property
    def as2_url(self) -> str:
        return f"{self.base_url}/as2"

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(httpx.HTTPError):
            if probe().get(f"{url}/_mock/health").status_code == 200:
                return True
        time.sleep(0.05)
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextlib.contextmanager
def start_mock_edi(*args: str, workdir: Path | None = None,
                   startup_timeout: float = 15.0) -> Iterator[MockEdi]:
    """Run mock-edi with extra CLI ``args`` (e.g. ``"--no-mdn"``) until the block ends."""
    with contextlib.ExitStack() as stack:
        base = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(
            prefix="mock-edi-")))
        for _attempt in range(3):  # another process may grab the port we picked
            port = free_port()
            db_path, log_path = base / f"mock-edi-{port}.db", base / f"mock-edi-{port}.log"
            log_file = stack.enter_context(log_path.open("wb"))
            proc = subprocess.Popen(
                [sys.executable, "-m", "mockedi", "--host", "127.0.0.1", "--port", str(port),
                 "--db", str(db_path), "-q", *args],
                stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ,
                                                                "PYTHONUNBUFFERED": "1"})
            stack.callback(_stop, proc)
            url = f"http://127.0.0.1:{port}"
            if _wait_healthy(proc, url, startup_timeout):
                break
            _stop(proc)
            log_file.flush()
            if "in use" not in log_path.read_text("utf-8", "replace"):
                raise RuntimeError(f"mock-edi did not become healthy on port {port}; its "
                                   f"output:\n{log_path.read_text('utf-8', 'replace')}")
        else:
            raise RuntimeError(f"mock-edi did not become healthy; its output:\n"
                               f"{log_path.read_text('utf-8', 'replace')}")
        client = MockEdiClient(url)
        stack.callback(client.close)
        mock = MockEdi(url, port, db_path, log_path, proc, client)
        try:
            yield mock
        finally:
            output = mock.log().strip()
            if output:  # pytest shows captured teardown output only for failing tests
                print(f"--- mock-edi on port {port} said:\n{output}", file=sys.stderr)


@pytest.fixture
def mock_edi_factory(tmp_path: Path) -> Iterator[Callable[..., MockEdi]]:
    """Start mock-edi with CLI flags: ``mock_edi_factory("--no-mdn")``."""
    with contextlib.ExitStack() as stack:
        def start(*args: str) -> MockEdi:
            return stack.enter_context(start_mock_edi(*args, workdir=tmp_path))
        yield start


@pytest.fixture
def mock_edi(mock_edi_factory: Callable[..., MockEdi]) -> MockEdi:
    """A fresh mock-edi (seeded partners ACME, GLOBEX, INITECH, EURODIS, NORTHWIND)."""
    return mock_edi_factory()
