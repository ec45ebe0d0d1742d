"""kill -9 with hundreds of documents in flight: after restart, each is processed exactly once."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.hubproc import ADMIN_KEY, HubProcess

N = 500


def _orders(template: dict[str, Any]) -> list[bytes]:
    out = []
    for i in range(N):
        po = dict(template, po_number=f"PO-{i:05d}")
        out.append(json.dumps(po).encode())
    return out


def _all_documents(hub: HubProcess) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = hub.client.get("/api/v1/documents", params={"limit": 500, **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.slow
def test_kill_9_with_documents_in_flight(tmp_path: Path, database_url: str, purchase_order: dict[str, Any]) -> None:
    hub = HubProcess(tmp_path / "hub", database_url=database_url, env={"CROSSDOCK_WORKERS": "2"})
    hub.start()
    try:
        hub.add_partner("ACME")
        bodies = _orders(purchase_order)
        accepted: set[int] = set()
        lock = threading.Lock()

        def send(i: int, client: httpx.Client) -> None:
            try:
                r = client.post("/api/v1/inbound/ACME/purchase_order", content=bodies[i],
                                headers={"Prefer": "respond-async"})
                if r.status_code in (200, 201, 202):
                    with lock:
                        accepted.add(i)
            except httpx.HTTPError:
                pass  # the hub died under us: the sender resends after restart

        client = httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10)
        killed = threading.Event()

        def killer() -> None:
            # kill once some documents are done but many are still queued or in a worker
            hub.wait_for(lambda: len(accepted) >= N // 2, timeout=120, interval=0.02)
            hub.kill()
            killed.set()

        t = threading.Thread(target=killer)
        t.start()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: send(i, client), range(N)))
        t.join()
        assert killed.is_set()
        # prove the kill hit work in flight: receipts stored but not yet processed
        from sqlalchemy import create_engine, func, select

        from hub.storage.tables import Document, InboxEntry

        engine = create_engine(database_url)
        with engine.connect() as conn:
            stored = conn.scalar(select(func.count()).select_from(InboxEntry))
            processed = conn.scalar(select(func.count()).select_from(Document))
        engine.dispose()
        assert stored and processed is not None and processed < stored, (stored, processed)

        hub.start()
        client = httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30)
        for i in range(N):  # the sender resends what it has no answer for
            if i not in accepted:
                send(i, client)
        assert len(accepted) == N
        hub.wait_for(lambda: len(_all_documents(hub)) >= N, timeout=180, interval=0.5)
        docs = _all_documents(hub)
        keys = [d["business_key"] for d in docs]
        assert len(docs) == N and len(set(keys)) == N, "a document was lost or processed twice"
        assert sorted(keys) == sorted(f"ACME/PO-{i:05d}" for i in range(N))
        assert hub.client.get("/api/v1/deadletters", params={"status": ""}).json()["items"] == []
        metrics = httpx.get(hub.url + "/metrics").text
        assert 'crossdock_jobs{kind="ingest",status="queued"}' not in metrics
        assert 'crossdock_jobs{kind="ingest",status="retrying"}' not in metrics
    finally:
        hub.close()
