"""Process lifecycle: SIGTERM drains; one embedded process per database; logs are structured."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.hubproc import ADMIN_KEY, HubProcess


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sigterm_drains_and_nothing_is_lost(tmp_path: Path, database_url: str,
                                            purchase_order: dict[str, Any]) -> None:
    hub = HubProcess(tmp_path / "hub", database_url=database_url, env={"CROSSDOCK_WORKERS": "1"})
    hub.start()
    try:
        hub.add_partner("ACME")
        for i in range(200):
            r = hub.client.post("/api/v1/inbound/ACME/purchase_order", headers={"Prefer": "respond-async"},
                                content=json.dumps(purchase_order | {"po_number": f"T-{i}"}).encode())
            assert r.status_code in (201, 202)  # 201 when the worker was already done with it
        assert hub.stop() in (0, -15)  # uvicorn re-raises SIGTERM after its graceful shutdown
        assert '"event": "runtime.stopped"' in hub.logs()
        hub.start()
        hub.wait_for(lambda: len(hub.client.get("/api/v1/documents", params={"limit": 500}).json()["items"]) == 200)
    finally:
        hub.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_second_embedded_process_on_the_same_database_is_refused(tmp_path: Path, database_url: str) -> None:
    first = HubProcess(tmp_path / "hub", database_url=database_url).start()
    second = HubProcess(tmp_path / "hub", database_url=database_url)
    second.log_path = tmp_path / "second.log"
    try:
        with pytest.raises(RuntimeError, match="another embedded Crossdock works this database"):
            second.start(timeout=20)
    finally:
        second.close()
        first.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_logs_are_json_lines_with_context_and_no_secrets(hub: HubProcess, purchase_order: dict[str, Any]) -> None:
    hub.add_partner("ACME", destinations=[{"type": "http", "url": "http://127.0.0.1:9/x",
                                           "headers": {"Authorization": "Bearer sekrit-downstream-token"}}])
    r = hub.client.post("/api/v1/inbound/ACME/purchase_order", json=purchase_order,
                        headers={"X-Correlation-ID": "c-77"})
    hub.wait_for(lambda: "job.finished" in hub.logs())
    delivery = hub.client.get(f"/api/v1/documents/{r.json()['document_id']}").json()["deliveries"][0]
    assert delivery["destination"]["headers"]["Authorization"] == "***"  # the API never shows secrets
    events = [json.loads(line) for line in hub.logs().splitlines() if line.startswith("{")]
    finished = [e for e in events if e.get("event") == "job.finished" and e.get("kind") == "ingest"]
    assert finished and finished[0]["partner"] == "ACME" and finished[0]["correlation_id"] == "c-77"
    assert all({"timestamp", "level", "event"} <= set(e) for e in events)
    text = hub.logs()
    assert ADMIN_KEY not in text and "sekrit-downstream-token" not in text


def test_redaction_masks_secret_fields_and_keys() -> None:
    from hub.logging import redact

    event = redact(None, "info", {"event": "x", "password": "hunter2", "api_key": "cdk_ab_cd",
                                  "detail": "sent Authorization: Bearer abc.def and cdk_1234abcd_secretpart"})
    assert event["password"] == "***" and event["api_key"] == "***"
    assert "abc.def" not in event["detail"] and "secretpart" not in event["detail"]


def test_serve_help_documents_env(tmp_path: Path) -> None:
    import os
    import sys

    out = subprocess.run([str(Path(sys.executable).parent / "crossdock"), "serve", "--help"], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert "CROSSDOCK_HOST" in out.stdout and "CROSSDOCK_PORT" in out.stdout
