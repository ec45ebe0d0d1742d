"""Retry semantics at the hub, against a scripted downstream system (a real HTTP server).

Transient (connection refused, timeout, 429/503 with Retry-After) → retried, then delivered;
permanent (4xx business rejection, parse error) → dead letter at once; a document still
failing past the maximum age → dead letter; a partner's classification override is data.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.hubproc import HubProcess
from tests.support.services import free_port

Script = list[tuple[int, dict[str, str], float]]  # status, headers, delay before answering


class ScriptedDownstream:
    """Answers each path from its script (the last answer repeats); records when each request came."""

    def __init__(self, scripts: dict[str, Script]) -> None:
        self.scripts = scripts
        self.seen: dict[str, list[float]] = {k: [] for k in scripts}
        self.port = free_port()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.seen[self.path].append(time.monotonic())
                script = outer.scripts[self.path]
                status, headers, delay = script.pop(0) if len(script) > 1 else script[0]
                time.sleep(delay)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


OK: tuple[int, dict[str, str], float] = (200, {}, 0.0)
SCRIPTS: dict[str, Script] = {
    "/unavailable": [(503, {"Retry-After": "1"}, 0.0), OK],
    "/ratelimited": [(429, {"Retry-After": "1"}, 0.0), OK],
    "/slow": [(200, {}, 2.0), OK],
    "/rejects": [(422, {}, 0.0)],
    "/conflict": [(409, {}, 0.0), OK],
    "/conflict-overridden": [(409, {}, 0.0), OK],
    "/always-down": [(503, {}, 0.0)],
}


@pytest.fixture
def downstream() -> Iterator[ScriptedDownstream]:
    d = ScriptedDownstream({k: list(v) for k, v in SCRIPTS.items()})
    try:
        yield d
    finally:
        d.server.shutdown()
        d.server.server_close()


@pytest.fixture
def retry_hub(tmp_path: Path) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path / "hub", env={"CROSSDOCK_RETRY_MAX_ATTEMPTS": "50", "CROSSDOCK_RETRY_MAX_AGE_SECONDS": "6",
                                            "CROSSDOCK_DELIVERY_TIMEOUT_SECONDS": "0.5"})
    hub.start(timeout=120)
    try:
        yield hub
    finally:
        hub.close()


def send(hub: HubProcess, partner: str, url: str, order: dict[str, Any], **profile: Any) -> int:
    hub.add_partner(partner, destinations=[{"type": "http", "url": url}], **profile)
    r = hub.client.post(f"/api/v1/inbound/{partner}/purchase_order", json={**order, "buyer": {"id": partner}})
    assert r.status_code == 201, r.text
    return int(r.json()["document_ids"][0])


def settled(hub: HubProcess, doc_id: int) -> dict[str, Any]:
    doc = hub.client.get(f"/api/v1/documents/{doc_id}").json()
    return dict(doc) if doc["status"] in ("delivered", "delivery_failed") or doc.get("deliveries") and \
        doc["deliveries"][0].get("status") in ("done", "dead") else {}


@pytest.mark.slow
def test_transient_failures_retry_and_permanent_ones_dead_letter(retry_hub: HubProcess, downstream: ScriptedDownstream,
                                                                 purchase_order: dict[str, Any]) -> None:
    hub = retry_hub
    override = [{"match": "code:http.409", "action": "retry", "reason": "their ERP locks orders briefly"}]
    docs = {path: send(hub, f"P{i}", downstream.url(path), purchase_order,
                       **({"retry_rules": override} if path == "/conflict-overridden" else {}))
            for i, path in enumerate(SCRIPTS)}
    docs["refused"] = send(hub, "PDOWN", f"http://127.0.0.1:{free_port()}/nobody", purchase_order)

    def dead_letters() -> dict[str, dict[str, Any]]:
        items = hub.client.get("/api/v1/deadletters", params={"status": "", "limit": 100}).json()["items"]
        return {str(d["partner_id"]): d for d in items}

    expected_dead = {"P3": "http.422", "P4": "http.409", "P6": "http.503", "PDOWN": "error.ConnectError"}
    found = hub.wait_for(lambda: (d := dead_letters()).keys() >= expected_dead.keys() and d, timeout=60, interval=0.5)
    assert {p: found[p]["error_code"] for p in expected_dead} == expected_dead
    assert found["P3"]["attempts"] == 1 and found["P4"]["attempts"] == 1  # business rejections: no retry
    assert found["P6"]["attempts"] > 1 and found["PDOWN"]["attempts"] > 1  # retried until the maximum age
    assert set(found) == set(expected_dead)

    delivered = {p: hub.client.get(f"/api/v1/documents/{docs[p]}").json()["status"]
                 for p in ("/unavailable", "/ratelimited", "/slow", "/conflict-overridden")}
    assert delivered == dict.fromkeys(delivered, "delivered")
    for path in ("/unavailable", "/ratelimited"):  # Retry-After: 1 s was honoured
        first, second = downstream.seen[path][:2]
        assert second - first >= 0.9
    assert len(downstream.seen["/slow"]) == 2  # timed out once, then delivered


def test_parse_error_is_a_dead_letter_without_retries(retry_hub: HubProcess) -> None:
    retry_hub.add_partner("ACME")
    r = retry_hub.client.post("/api/v1/inbound/ACME/purchase_order", content=b'{"po_number": ')
    assert r.status_code == 400 and r.json()["code"] == "parse.json"
    dl = retry_hub.client.get(f"/api/v1/deadletters/{r.json()['dead_letter_id']}").json()
    assert dl["attempts"] == 1 and json.dumps(dl["attempt_log"]).count('"outcome": "dead_letter"') == 1
