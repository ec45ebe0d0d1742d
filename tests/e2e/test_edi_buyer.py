"""Crossdock as buyer: an 850 / ORDERS to mock-edi's seller, every reply acknowledged and linked."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.edi_support import outbound, purchase_order, received, unacknowledged, wire_buyer
from tests.support.hubproc import HubProcess
from tests.support.mock_edi import MockEdi

pytestmark = pytest.mark.slow

REPLIES = {"x12": ("855", "856", "810"), "edifact": ("ORDRSP", "DESADV", "INVOIC")}


def place(hub: HubProcess, po: str, *, standard: str = "x12") -> dict[str, Any]:
    buyer = "ACME" if standard == "x12" else "EURODIS"
    r = hub.client.post("/api/v1/outbound/purchase-orders",
                        json={"partner": "MOCKSELLER", "document": purchase_order(po, buyer=buyer)})
    assert r.status_code == 201, r.text
    return dict(r.json())


def replies(hub: HubProcess, po: str, count: int) -> list[dict[str, Any]]:
    def ready() -> list[dict[str, Any]] | None:
        rows = [r for r in received(hub, partner="MOCKSELLER", po_number=po) if r["status"] != "ack"]
        return rows if len(rows) >= count else None
    return list(hub.wait_for(ready, timeout=30))


def quiet(hub: HubProcess) -> None:
    hub.wait_for(lambda: all(r["status"] == "sent" for r in outbound(hub, partner="MOCKSELLER")), timeout=30)


@pytest.mark.parametrize("standard", ["x12", "edifact"])
def test_purchase_order_replies_are_acknowledged_and_linked(hub: HubProcess, mock_edi: MockEdi,
                                                            standard: str) -> None:
    wire_buyer(hub, mock_edi, as_customer="ACME" if standard == "x12" else "EURODIS", standard=standard)
    sent = place(hub, "PO-B1", standard=standard)
    assert sent["set_id"] == ("850" if standard == "x12" else "ORDERS")
    rows = replies(hub, "PO-B1", 3)
    assert sorted(r["set_id"] for r in rows) == sorted(REPLIES[standard])
    assert all(r["status"] == "accepted" and r["outbound_id"] == sent["id"] for r in rows)
    # Replies processed in parallel may be filed out of order; quantities and prices must agree.
    assert [n for r in rows for n in r["notes"] if not n["rule"].endswith("before-confirmed")
            and not n["rule"].endswith("before-shipped")] == []
    quiet(hub)
    hub.wait_for(lambda: outbound(hub, partner="MOCKSELLER", set_id=sent["set_id"])[0]["ack_status"] == "accepted")
    acks = [r for r in outbound(hub, partner="MOCKSELLER") if r["set_id"] in ("997", "CONTRL")]
    assert len(acks) == 3
    assert mock_edi.client.order("PO-B1")["status"] in ("invoiced", "shipped", "confirmed")
    hub.wait_for(lambda: unacknowledged(mock_edi) == [], timeout=15)
    assert hub.client.get("/api/v1/edi/unacknowledged").json() == []
