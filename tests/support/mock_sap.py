"""Run the real mock-sap ERP for a test, and talk to its ``/_mock`` control plane.

mock-sap is started as a subprocess on a free 127.0.0.1 port (``--port 0``; the port is
read back from its banner, so there is no race for a port), with the flags a test asks
for. The fixture waits until ``/_mock/health`` answers, kills the process on teardown and
prints its output then, which pytest shows only for a failing test.

Usage (in a conftest.py)::

    from tests.support.mock_sap import mock_sap, mock_sap_factory  # noqa: F401

    def test_orders(mock_sap):                       # defaults: CSRF on, quiet
        assert mock_sap.control.count("A_SalesOrder") == 25

    def test_oauth(mock_sap_factory):
        sap = mock_sap_factory(oauth=("CROSSDOCK", "s3cret"), slow_ms=1500)
        sap.control.add_fault(match="A_SalesOrder$", method="POST", scenario="slow")
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.services import probe

__all__ = [
    "MockSap",
    "MockSapControl",
    "MockSapOptions",
    "mock_sap",
    "mock_sap_factory",
    "start_mock_sap",
]

SERVICE_OF = {
    "A_SalesOrder": "API_SALES_ORDER_SRV",
    "A_SalesOrderItem": "API_SALES_ORDER_SRV",
    "A_BusinessPartner": "API_BUSINESS_PARTNER_SRV",
    "A_Product": "API_PRODUCT_SRV",
    "A_PurchaseOrder": "API_PURCHASEORDER_PROCESS_SRV",
    "A_OutbDeliveryHeader": "API_OUTBOUND_DELIVERY_SRV",
    "A_BillingDocument": "API_BILLING_DOCUMENT_SRV",
    "A_SupplierInvoice": "API_SUPPLIERINVOICE_PROCESS_SRV",
}
_BANNER = re.compile(r"listening on (http://[\d.]+:(\d+))")


@dataclass(frozen=True)
class MockSapOptions:
    """The command-line flags of one mock-sap run (see its README, "Command line")."""

    csrf: bool = True
    basic_auth: tuple[str, str] | None = None
    oauth: tuple[str, str] | None = None
    token_ttl: int | None = None
    slow_ms: int | None = None
    clock: str | None = None
    seed: int | None = None
    extra: tuple[str, ...] = ()

    def argv(self) -> list[str]:
        args = ["--host", "127.0.0.1", "--port", "0", "-q"]
        if not self.csrf:
            args.append("--no-csrf")
        if self.basic_auth:
            args += ["--auth", ":".join(self.basic_auth)]
        if self.oauth:
            args += ["--oauth", ":".join(self.oauth)]
        if self.token_ttl is not None:
            args += ["--token-ttl", str(self.token_ttl)]
        if self.slow_ms is not None:
            args += ["--slow-ms", str(self.slow_ms)]
        if self.clock:
            args += ["--clock", self.clock]
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        return [*args, *self.extra]


@dataclass
class MockSapControl:
    """A small typed client for mock-sap's ``/_mock`` API plus plain OData reads."""

    base_url: str
    auth: tuple[str, str] | None = None
    oauth: tuple[str, str] | None = None
    _http: httpx.Client = field(init=False, repr=False)
    _bearer: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._http = httpx.Client(base_url=self.base_url, timeout=10.0)

    def close(self) -> None:
        self._http.close()

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        response = self._http.request(method, path, **kw)
        response.raise_for_status()
        return response.json()

    def health(self) -> dict[str, Any]:
        return dict(self._json("GET", "/_mock/health"))

    def state(self) -> dict[str, Any]:
        """Row counts per entity type (and the mock's clock under ``clock``)."""
        return dict(self._json("GET", "/_mock/state"))

    def reset(self) -> None:
        self._json("POST", "/_mock/reset", json={})

    def add_fault(
        self,
        *,
        match: str,
        method: str | None = None,
        status: int | None = None,
        scenario: str | None = None,
        message: str | None = None,
        count: int = 1,
        delay_ms: int | None = None,
    ) -> dict[str, Any]:
        """Add a fault rule (regex ``match`` on the path); ``count`` 0 means forever."""
        rule: dict[str, Any] = {"match": match, "count": count}
        for key, value in (("method", method), ("status", status), ("scenario", scenario),
                           ("message", message), ("delay_ms", delay_ms)):
            if value is not None:
                rule[key] = value
        return dict(self._json("POST", "/_mock/faults", json=rule))

    def faults(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/_mock/faults")["results"])

    def clear_faults(self) -> None:
        self._json("DELETE", "/_mock/faults")

    def requests(self, *, limit: int = 25, verbose: bool = False) -> list[dict[str, Any]]:
        """What clients sent, newest first (credential headers redacted by the mock)."""
        params = {"limit": limit, **({"verbose": 1} if verbose else {})}
        return list(self._json("GET", "/_mock/requests", params=params)["results"])

    def idocs(self, *, mestyp: str = "", limit: int = 50) -> list[dict[str, Any]]:
        """Inbound and outbound IDocs, newest first: docnum, mestyp, status, status_text ..."""
        params: dict[str, Any] = {"limit": limit, **({"mestyp": mestyp} if mestyp else {})}
        return list(self._json("GET", "/_mock/idocs", params=params)["results"])

    def tokens(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/_mock/tokens")["results"])

    def revoke_tokens(self) -> None:
        self._json("DELETE", "/_mock/tokens")

    def advance(self, *, days: int) -> None:
        self._json("POST", "/_mock/advance", params={"days": days})

    def odata(self, entity_set: str, *, filter: str | None = None, expand: str | None = None,
              service: str | None = None) -> list[dict[str, Any]]:
        """Read an entity set the way any OData client would (no CSRF needed)."""
        params = {"$format": "json", **({"$filter": filter} if filter else {}),
                  **({"$expand": expand} if expand else {})}
        path = f"/sap/opu/odata/sap/{service or SERVICE_OF[entity_set]}/{entity_set}"
        response = self._http.get(path, params=params, headers=self._auth_header())
        response.raise_for_status()
        return list(response.json()["d"]["results"])

    def count(self, entity_set: str, *, filter: str | None = None) -> int:
        return len(self.odata(entity_set, filter=filter))

    def _csrf_headers(self) -> dict[str, str]:
        """Fetch a CSRF token (the session cookie stays in this client) for a test's own write."""
        response = self._http.get("/sap/opu/odata/sap/API_SALES_ORDER_SRV/",
                                  headers={"X-CSRF-Token": "Fetch", **self._auth_header()})
        return {"X-CSRF-Token": response.headers["x-csrf-token"], **self._auth_header()}

    def _auth_header(self) -> dict[str, str]:
        """Credentials for the mock's own APIs: a bearer token under --oauth, else basic."""
        if self.oauth:
            if self._bearer is None:
                token = self._json("POST", "/sap/bc/sec/oauth2/token", auth=self.oauth,
                                   data={"grant_type": "client_credentials"})
                self._bearer = str(token["access_token"])
            return {"Authorization": f"Bearer {self._bearer}"}
        if not self.auth:
            return {}
        user_password = ":".join(self.auth).encode()
        return {"Authorization": "Basic " + base64.b64encode(user_password).decode("ascii")}

    def patch(self, entity_set: str, key: str, changes: dict[str, Any]) -> None:
        """Change one entity as another SAP user would (e.g. block a customer)."""
        path = f"/sap/opu/odata/sap/{SERVICE_OF[entity_set]}/{entity_set}('{key}')"
        response = self._http.patch(path, json=changes,
                                    headers={**self._csrf_headers(), "If-Match": "*"})
        response.raise_for_status()

    def generate_idoc(self, mestyp: str, sales_order: str) -> dict[str, Any]:
        """Let the ERP make a document from a sales order (INVOIC → billing document,
        DELVRY → outbound delivery), as its own output processing would."""
        response = self._http.post("/sap/bc/idoc/generate", headers=self._csrf_headers(),
                                   json={"mestyp": mestyp, "SalesOrder": sales_order})
        response.raise_for_status()
        return dict(response.json())


@dataclass
class MockSap:
    """One running mock-sap process."""

    base_url: str
    port: int
    options: MockSapOptions
    process: subprocess.Popen[bytes]
    log_path: Path
    control: MockSapControl

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.control.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def start_mock_sap(options: MockSapOptions | None = None, *, startup_timeout: float = 15.0) -> MockSap:
    """Start mock-sap and return once ``/_mock/health`` answers."""
    options = options or MockSapOptions()
    exe = Path(sys.executable).with_name("mock-sap")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "mocksap"]
    fd, name = tempfile.mkstemp(prefix="mock-sap-", suffix=".log")
    log = os.fdopen(fd, "wb")
    process = subprocess.Popen([*cmd, *options.argv()], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    log_path = Path(name)
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mock-sap exited with {process.returncode}:\n{log_path.read_text()}")
        found = _BANNER.search(log_path.read_text(errors="replace"))
        if found:
            base_url, port = found.group(1), int(found.group(2))
            try:
                if probe().get(f"{base_url}/_mock/health").status_code == 200:
                    control = MockSapControl(base_url, options.basic_auth, options.oauth)
                    return MockSap(base_url, port, options, process, log_path, control)
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"mock-sap did not answer within {startup_timeout}s:\n{log_path.read_text()}")


@pytest.fixture
def mock_sap_factory() -> Iterator[Callable[..., MockSap]]:
    """Start as many mock-sap processes as a test needs; each is killed on teardown.

    Keyword arguments are :class:`MockSapOptions` fields.
    """
    started: list[MockSap] = []

    def start(**options: Any) -> MockSap:
        sap = start_mock_sap(MockSapOptions(**options))
        started.append(sap)
        return sap

    yield start
    for sap in started:
        sap.stop()
        output = sap.output().strip()
        if output:  # pytest shows this only when the test failed
            print(f"--- mock-sap {sap.base_url} {' '.join(sap.options.argv())}\n{output}")
        sap.log_path.unlink(missing_ok=True)


@pytest.fixture
def mock_sap(mock_sap_factory: Callable[..., MockSap]) -> MockSap:
    """A fresh mock-sap with default flags (CSRF required, open authentication)."""
    return mock_sap_factory()
