"""Connectors configured in partner profiles, end to end through a real hub."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from connectors.transports.webhook import WebhookConfig, sign_webhook
from tests.support.hubproc import HubProcess
from tests.support.services import free_port

SECRET = "whsec-shop-0f3c9a"


def _orders(template: dict[str, Any], prefix: str, n: int) -> list[dict[str, Any]]:
    return [template | {"po_number": f"{prefix}-{i}"} for i in range(n)]


class PagedOrders:
    """A web shop's order API: page-numbered JSON lists (a real local HTTP server)."""

    def __init__(self, orders: list[dict[str, Any]], *, per_page: int = 2, fail: bool = False) -> None:
        self.orders, self.per_page, self.fail = orders, per_page, fail
        self.port = free_port()
        self.calls: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.calls.append(self.path)
                if outer.fail:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                page = int(parse_qs(urlparse(self.path).query).get("page", ["1"])[0])
                chunk = outer.orders[(page - 1) * outer.per_page: page * outer.per_page]
                body = json.dumps(chunk).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_signed_webhooks_are_stored_and_bad_ones_refused_and_audited(hub: HubProcess,
                                                                     purchase_order: dict[str, Any]) -> None:
    hub.add_partner("SHOP", role="shop", webhook={"secret": SECRET, "document_type": "purchase_order"})
    shown = hub.client.get("/api/v1/partners/SHOP").json()
    assert shown["webhook"]["secret"] == "***"  # secrets never leave the hub
    config = WebhookConfig(secret=SECRET)  # type: ignore[arg-type]
    body = json.dumps(purchase_order | {"buyer": {"id": "SHOP"}}).encode()
    url = f"{hub.url}/api/v1/webhooks/SHOP"

    def post(headers: dict[str, str], delivery: str, payload: bytes = body) -> httpx.Response:
        return httpx.post(url, content=payload, headers={**headers, "X-Crossdock-Delivery": delivery,
                                                         "Content-Type": "application/json"})

    ok = post(sign_webhook(body, config, timestamp=int(time.time())), "d-1")
    assert ok.status_code == 202, ok.text
    hub.wait_for(lambda: hub.client.get("/api/v1/documents", params={"partner": "SHOP"}).json()["items"])

    bad = post({"X-Crossdock-Signature": "sha256=" + "0" * 64, "X-Crossdock-Timestamp": str(int(time.time()))}, "d-2")
    assert bad.status_code == 401 and bad.json()["code"] == "webhook.signature_invalid"
    stale = post(sign_webhook(body, config, timestamp=int(time.time()) - 3600), "d-3")
    assert stale.status_code == 401 and stale.json()["code"] == "webhook.timestamp_stale"
    replay = post(sign_webhook(body, config, timestamp=int(time.time())), "d-1")
    assert replay.status_code == 409 and replay.json()["code"] == "webhook.replayed"
    missing = httpx.post(url, content=body)
    assert missing.status_code == 401 and missing.json()["code"] == "webhook.signature_missing"

    audit = hub.client.get("/api/v1/audit", params={"action": "webhook.rejected"}).json()["items"]
    codes = sorted(a["details"]["code"] for a in audit)
    assert codes == sorted(["webhook.signature_invalid", "webhook.timestamp_stale", "webhook.replayed",
                            "webhook.signature_missing"])
    assert all(a["actor"] == "webhook:SHOP" for a in audit)
    assert SECRET not in hub.logs()
    assert httpx.post(f"{hub.url}/api/v1/webhooks/NOBODY", content=body).status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_polled_shop_orders_become_documents(hub: HubProcess, purchase_order: dict[str, Any]) -> None:
    shop = PagedOrders(_orders(purchase_order | {"buyer": {"id": "SHOP"}}, "WEB", 5), per_page=2)
    try:
        hub.add_partner("SHOP", role="shop", connectors=[{
            "type": "rest_poll", "name": "orders", "every_seconds": 0.5,
            "config": {"base_url": f"http://127.0.0.1:{shop.port}", "path": "/orders",
                       "pagination": {"type": "page", "size": 2, "size_param": "per_page"},
                       "document_type": "purchase_order"}}])
        docs = hub.wait_for(lambda: len(items := hub.client.get(
            "/api/v1/documents", params={"partner": "SHOP"}).json()["items"]) == 5 and items, timeout=30)
        assert sorted(d["business_key"] for d in docs) == [f"SHOP/WEB-{i}" for i in range(5)]
        status = hub.wait_for(lambda: [c for c in hub.client.get("/api/v1/connectors").json()["items"]
                                       if c.get("last_poll_at")])
        assert status[0]["partner"] == "SHOP" and status[0]["type"] == "rest_poll" and status[0]["last_error"] is None
        time.sleep(1.5)  # later polls find the same pages: stored as replays, never processed again
        assert len(hub.client.get("/api/v1/documents", params={"partner": "SHOP"}).json()["items"]) == 5
    finally:
        shop.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_carrier_outage_opens_one_case_with_the_fallback_carrier(hub: HubProcess) -> None:
    carrier = PagedOrders([], fail=True)
    try:
        hub.add_partner("UPSN", role="carrier", fallback_carrier="FDEG", connectors=[{
            "type": "rest_poll", "name": "tracking", "every_seconds": 0.3,
            "config": {"base_url": f"http://127.0.0.1:{carrier.port}", "path": "/track",
                       "retry": {"max_attempts": 2, "backoff_seconds": 0.05}}}])
        hub.wait_for(lambda: len(carrier.calls) >= 6, timeout=30)  # several polls have failed
        from sqlalchemy import create_engine, text

        engine = create_engine(hub.env["CROSSDOCK_DATABASE_URL"])
        with engine.connect() as conn:
            cases = conn.execute(text("select type, partner_id, details from cases")).all()
        engine.dispose()
        assert len(cases) == 1, "one case while the outage lasts, not one per poll"
        details = cases[0][2] if isinstance(cases[0][2], dict) else json.loads(cases[0][2])
        assert cases[0][0] == "carrier_api_failure" and cases[0][1] == "UPSN"
        assert "FDEG" in details["recommended_action"]
        status = hub.client.get("/api/v1/connectors").json()["items"][0]
        assert status["last_error"] and "503" in status["last_error"]
    finally:
        carrier.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_connector_config_names_partner_and_field(hub: HubProcess) -> None:
    r = hub.client.post("/api/v1/partners", json={"id": "ACME", "name": "Acme", "connectors": [
        {"type": "sftp", "config": {"host": "sftp.acme.example", "username": "cd"}}]})
    assert r.status_code == 422
    assert "ACME" in r.json()["detail"] and "connectors.0.config.host_key" in r.json()["detail"]
    r = hub.client.post("/api/v1/partners", json={"id": "ACME", "name": "Acme", "connectors": [
        {"type": "ftp", "config": {}}]})
    assert r.status_code == 422 and "connectors" in r.json()["detail"]


@pytest.mark.sshd
@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("hub", ["embedded"], indirect=True)
def test_sftp_connector_in_a_profile_is_polled_by_the_hub(hub: HubProcess, sshd: Any,
                                                          purchase_order: dict[str, Any]) -> None:
    outbox = sshd.mkdir("outbox")
    for i in range(3):
        sshd.put(f"outbox/po-{i}.json", json.dumps(purchase_order | {"po_number": f"SFTP-{i}"}).encode(),
                 mtime=time.time() - 60)
    sshd.put("outbox/notes.txt", b"not an order", mtime=time.time() - 60)
    hub.add_partner("ACME", connectors=[{
        "type": "sftp", "name": "mailbox", "every_seconds": 0.5,
        "config": {"host": "127.0.0.1", "port": sshd.port, "username": sshd.user,
                   "private_key": sshd.client_key.private_pem, "host_key": sshd.host_key.public_line,
                   "settle_seconds": 0, "inbound": [{"path": str(outbox), "patterns": ["*.json"],
                                                     "document_type": "purchase_order"}]}}])
    profile = hub.client.get("/api/v1/partners/ACME").json()
    assert profile["connectors"][0]["config"]["private_key"] == "***"
    docs = hub.wait_for(lambda: len(items := hub.client.get(
        "/api/v1/documents", params={"partner": "ACME"}).json()["items"]) == 3 and items, timeout=60)
    assert sorted(d["business_key"] for d in docs) == ["ACME/SFTP-0", "ACME/SFTP-1", "ACME/SFTP-2"]
    hub.wait_for(lambda: not list(outbox.glob("*.json")))  # archived only after storing
    assert (outbox / "notes.txt").exists()  # not matched by the pattern: left alone
    assert sshd.client_key.private_pem.splitlines()[1] not in hub.logs()
