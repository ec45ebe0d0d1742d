"""Crossdock trades with mock-edi over folders: interchanges written to its drop folder, its
answers picked up from Crossdock's watched folder ``<partner>/edi/``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.edi_support import outbound, purchase_order, received, unacknowledged
from tests.support.hubproc import HubProcess
from tests.support.mock_edi import MockEdi

pytestmark = pytest.mark.slow


def test_purchase_order_over_directories(hub: HubProcess, tmp_path: Path,
                                         mock_edi_factory: Callable[..., MockEdi]) -> None:
    drop, pickup = tmp_path / "mock-drop", tmp_path / "hub" / "inbound" / "MOCKSELLER" / "edi"
    drop.mkdir()
    pickup.mkdir(parents=True)
    mock = mock_edi_factory("--drop-dir", str(drop), "--pickup-dir", str(pickup), "--drop-interval-ms", "100",
                            "--drop-settle-ms", "50")
    hub.add_partner("MOCKSELLER", role="supplier", edi={
        "standard": "x12", "interchange_id": "MOCKEDI", "our_interchange_id": "ACME",
        "transport": "directory", "outbound_dir": str(drop)})
    r = hub.client.post("/api/v1/outbound/purchase-orders",
                        json={"partner": "MOCKSELLER", "document": purchase_order("PO-F1")})
    assert r.status_code == 201, r.text
    rows = hub.wait_for(lambda: (lambda rs: rs if len(rs) >= 3 else None)(
        [x for x in received(hub, partner="MOCKSELLER", po_number="PO-F1")]), timeout=40)
    assert {x["set_id"] for x in rows} == {"855", "856", "810"}
    hub.wait_for(lambda: outbound(hub, set_id="850")[0]["ack_status"] == "accepted", timeout=30)
    assert outbound(hub, set_id="850")[0]["receipt"].startswith("file ")
    hub.wait_for(lambda: unacknowledged(mock) == [], timeout=30)
