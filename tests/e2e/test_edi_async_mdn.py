"""Crossdock sends over AS2 with an asynchronous MDN: delivered when it comes, resent when it does not."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.edi_support import outbound, purchase_order
from tests.support.hubproc import HubProcess
from tests.support.mock_edi import MockEdi

pytestmark = [pytest.mark.slow, pytest.mark.mock_edi,
              pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)]


def wire_async(hub: HubProcess, mock: MockEdi, **as2: Any) -> None:
    """Crossdock buys from mock-edi as its customer ACME; MDNs come back to Crossdock's /as2 later."""
    hub.add_partner("MOCKSELLER", role="supplier", edi={
        "standard": "x12", "interchange_id": "MOCKEDI", "our_interchange_id": "ACME"},
        as2={"as2_id": "MOCKEDI", "our_as2_id": "ACME", "url": mock.as2_url, "mdn_mode": "async",
             "async_mdn_url": f"{hub.url}/as2", **as2})


def place(hub: HubProcess, po: str) -> dict[str, Any]:
    r = hub.client.post("/api/v1/outbound/purchase-orders",
                        json={"partner": "MOCKSELLER", "document": purchase_order(po)})
    assert r.status_code == 201, r.text
    return dict(r.json())


def the_850(hub: HubProcess, po: str) -> dict[str, Any]:
    [row] = outbound(hub, po_number=po, set_id="850")
    return row


def test_async_mdn_arrives_and_the_interchange_is_delivered(hub: HubProcess, mock_edi: MockEdi) -> None:
    wire_async(hub, mock_edi)
    sent = place(hub, "PO-AM1")
    row = hub.wait_for(lambda: (r := the_850(hub, "PO-AM1"))["status"] == "sent" and r, timeout=20)
    assert row["receipt"].startswith("MDN automatic-action/MDN-sent-automatically; processed")
    assert row["mdn_resends"] == 0 and row["last_error"] is None
    # mock-edi answered 202 and posted its receipt to /as2: for our Message-ID, over our bytes
    [mdn] = [m for m in mock_edi.client.mdns() if m["original_id"] == row["as2_message_id"]]
    assert (mdn["mode"], mdn["status"]) == ("async", "sent")
    raw = hub.client.get(f"/api/v1/edi/outbound/{sent['id']}/raw").content
    assert mdn["mic"] == base64.b64encode(hashlib.sha256(raw).digest()).decode()
    assert hub.client.get("/api/v1/deadletters").json()["items"] == []


def test_missing_mdn_is_resent_with_a_new_message_id_then_failed_with_a_case(
        hub: HubProcess, mock_edi_factory: Callable[..., MockEdi]) -> None:
    held = mock_edi_factory("--hold-delivery")  # mock-edi keeps its MDNs until /_mock/deliver
    wire_async(hub, held, mdn_timeout_s=1.5, mdn_resends=2)
    place(hub, "PO-AM2")
    row = hub.wait_for(lambda: (r := the_850(hub, "PO-AM2"))["status"] == "failed" and r, timeout=30)
    assert row["mdn_resends"] == 2 and row["attempts"] == 3
    assert "given up" in row["last_error"]

    # Three sends of the same interchange, each under its own Message-ID, each MDN still held.
    ours = [m for m in held.client.mdns() if m["mode"] == "async"]
    assert len({m["original_id"] for m in ours}) == 3 and {m["status"] for m in ours} == {"pending"}
    assert row["as2_message_id"] in {m["original_id"] for m in ours}
    controls = [i for i in held.client.interchanges() if i["direction"] == "in"]
    assert len(controls) == 3 and len({i["control"] for i in controls}) == 1, controls

    cases = hub.client.get("/api/v1/cases", params={"type": "edi.mdn-missing"}).json()["items"]
    assert [(c["partner_id"], c["business_key"]) for c in cases] == [
        ("MOCKSELLER", f"MOCKSELLER/interchange/{row['interchange_control']}")]

    # The receipts come after all: the first send's positive MDN shows the partner has it; the
    # resends' (refused by mock-edi as a replayed control number) change nothing, and none is lost.
    assert held.client.call("POST", "/_mock/deliver", params={"all": "1"}).json()["count"] == 3
    row = hub.wait_for(lambda: (r := the_850(hub, "PO-AM2"))["status"] == "sent" and r, timeout=15)
    assert row["receipt"].startswith("MDN automatic-action/MDN-sent-automatically; processed")
    dls = hub.client.get("/api/v1/deadletters").json()["items"]
    assert dls == [], [(d["error_code"], d["error"], d["stage"], d["partner_id"]) for d in dls]
