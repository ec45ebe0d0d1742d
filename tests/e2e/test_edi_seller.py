"""Crossdock as seller: mock-edi buys over AS2 and files everything Crossdock answers."""

from __future__ import annotations

import pytest

from tests.e2e.edi_support import LINES, outbound, received, unacknowledged, wire_seller
from tests.support.hubproc import HubProcess
from tests.support.mock_edi import MockEdi

pytestmark = pytest.mark.slow


def _settled(hub: HubProcess, mock: MockEdi, po: str, business: tuple[str, ...]) -> list[dict]:
    def done() -> list[dict] | None:
        rows = outbound(hub, partner="MOCKEDI")
        sets = [r["set_id"] for r in rows]
        if not all(b in sets for b in business) or any(r["status"] != "sent" for r in rows):
            return None
        if any(r["ack_status"] == "pending" for r in rows):
            return None
        return rows
    return hub.wait_for(done, timeout=30)


@pytest.mark.parametrize(("standard", "sets", "ack"), [
    ("x12", ("855", "856", "810"), "997"),
    ("edifact", ("ORDRSP", "DESADV", "INVOIC"), "CONTRL"),
])
def test_mock_edi_buys_and_files_every_answer_without_findings(
        hub: HubProcess, mock_edi: MockEdi, standard: str, sets: tuple[str, ...], ack: str) -> None:
    wire_seller(hub, mock_edi, standard=standard)
    mock_edi.client.purchase("CROSSDOCK", LINES, po_number="PO-S1")
    rows = _settled(hub, mock_edi, "PO-S1", sets)
    assert [r["set_id"] for r in rows if r["set_id"] in sets] == list(sets)
    assert all(r["ack_status"] == "accepted" for r in rows if r["set_id"] in sets)
    assert any(r["set_id"] == ack for r in rows)
    assert all(r["receipt"].startswith("MDN") and "processed" in r["receipt"] for r in rows)
    assert unacknowledged(mock_edi) == []
    assert hub.client.get("/api/v1/edi/unacknowledged").json() == []
    assert mock_edi.client.call("GET", "/_mock/disagreements", params={"po": "PO-S1"}).json() in ([], {})
    events = mock_edi.client.timeline("PO-S1")["events"]
    assert [e["code"] for e in events if e["event"] == "received"] == list(sets)
    assert all(e["findings"] == [] and e["accepted"] for e in events if "findings" in e)
    assert {e["code"] for e in events if e["event"] == "acknowledged" and e["status"] == "accepted"} >= {
        "850" if standard == "x12" else "ORDERS"}
    order = received(hub, partner="MOCKEDI", po_number="PO-S1")
    assert [r["status"] for r in order] == ["accepted"]
    assert order[0]["document_type"] == "purchase_order"
