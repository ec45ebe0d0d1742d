"""Plain EDI over HTTP (``POST /api/v1/inbound/edi``): the partner comes from the envelope.

An interchange with one good and one bad set: the good set becomes a document, the bad one
is rejected in our 997 (AK5 R with its AK3/AK4) and parked as one dead letter naming the
segment and element; nothing of the good set is lost. The acknowledgment waits in the
partner's mailbox (``transport: mailbox``) at ``GET /api/v1/edi/outbound/{id}/raw``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.edi_support import outbound, received
from tests.support.hubproc import HubProcess

pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).resolve().parents[1] / "mappings" / "golden" / "x12_850_004010.edi"


def _two_sets(bad: bool) -> bytes:
    text = GOLDEN.read_text()
    head, rest = text.split("ST*850*0001~", 1)
    body, tail = rest.split("GE*1*1~", 1)
    second = ("ST*850*0001~" + body).replace("0001~", "0002~").replace("PO-4711", "PO-4712")
    if bad:
        second = second.replace("PO1*2*3*EA*", "PO1*2*three*EA*")
    return (head + "ST*850*0001~" + body + second + "GE*2*1~" + tail).encode()


def test_one_bad_set_does_not_lose_the_good_one(hub: HubProcess) -> None:
    hub.add_partner("MOCKBUY", role="customer", edi={
        "standard": "x12", "interchange_id": "MOCKEDI", "our_interchange_id": "CROSSDOCK", "transport": "mailbox"})
    r = hub.client.post("/api/v1/inbound/edi", content=_two_sets(bad=True),
                        headers={"Content-Type": "application/edi-x12"})
    assert r.status_code in (200, 201, 202), r.text
    rows = hub.wait_for(lambda: (lambda rs: rs if len(rs) == 2 else None)(received(hub, partner="MOCKBUY")))
    assert [(x["control_number"], x["status"]) for x in rows] == [("0001", "accepted"), ("0002", "rejected")]
    assert rows[0]["document_id"] is not None and rows[1]["dead_letter_id"] is not None
    dead = hub.client.get(f"/api/v1/deadletters/{rows[1]['dead_letter_id']}").json()
    assert dead["error_code"] == "edi.set_rejected"
    assert "PO1" in dead["error"] and "element 02" in dead["error"]
    ack = hub.wait_for(lambda: [o for o in outbound(hub, partner="MOCKBUY") if o["set_id"] == "997"
                                and o["status"] == "sent"])[0]
    raw = hub.client.get(f"/api/v1/edi/outbound/{ack['id']}/raw").text
    # the golden order carries a REF out of place: accepted with errors (E), not rejected
    assert re.search(r"AK2\*850\*0001~(AK[34][^~]*~)*AK5\*[AE]~", raw), raw
    assert re.search(r"AK2\*850\*0002~AK3\*PO1\*\d+\*\*8~AK4\*2\*\*6\*three~(AK[34][^~]*~)*AK5\*R", raw), raw
    assert "AK9*P*2*2*1" in raw


def test_an_unreadable_envelope_is_stored_and_parked_for_its_partner_then_mended(hub: HubProcess) -> None:
    hub.add_partner("MOCKBUY", role="customer", edi={
        "standard": "x12", "interchange_id": "MOCKEDI", "our_interchange_id": "CROSSDOCK", "transport": "mailbox"})
    cut = GOLDEN.read_bytes()[:80]  # the ISA cut off after the recipient id: no envelope can be read
    r = hub.client.post("/api/v1/inbound/edi", content=cut)
    assert r.status_code == 400, r.text
    problem = r.json()
    assert (problem["partner"], problem["stage"], problem["code"]) == ("MOCKBUY", "decode", "parse.error")
    assert "ISA is incomplete" in problem["detail"] and problem["receipt_id"] is not None
    dead = hub.client.get(f"/api/v1/deadletters/{problem['dead_letter_id']}").json()
    assert dead["raw"] == cut.decode() and dead["partner_id"] == "MOCKBUY"  # kept byte for byte
    r = hub.client.post(f"/api/v1/deadletters/{problem['dead_letter_id']}/edit",
                        json={"reason": "the partner resent the whole file", "raw": GOLDEN.read_text()})
    assert r.status_code == 202, r.text
    hub.wait_for(lambda: [x for x in received(hub, partner="MOCKBUY") if x["status"] == "accepted"])
    # a body that is no interchange at all is still refused at the door
    r = hub.client.post("/api/v1/inbound/edi", content=b'{"po_number": "PO-1"}')
    assert r.status_code == 400 and r.json()["title"] == "Not EDI"


def test_unknown_sender_is_a_dead_letter_until_the_partner_exists(hub: HubProcess) -> None:
    r = hub.client.post("/api/v1/inbound/edi", content=_two_sets(bad=False))
    assert r.status_code in (400, 422), r.text
    assert r.json()["code"] == "partner.unknown"


def test_respond_async_answers_202_at_once_and_keeps_the_correlation_id(hub: HubProcess) -> None:
    hub.add_partner("MOCKBUY", role="customer", edi={
        "standard": "x12", "interchange_id": "MOCKEDI", "our_interchange_id": "CROSSDOCK", "transport": "mailbox"})
    r = hub.client.post("/api/v1/inbound/edi", content=_two_sets(bad=False),
                        headers={"Content-Type": "application/edi-x12", "Prefer": "respond-async",
                                 "X-Correlation-ID": "batch-7-file-12"})
    assert r.status_code == 202, r.text
    assert r.headers["X-Correlation-ID"] == "batch-7-file-12"
    assert r.json()["status"] == "queued"
    # the Location says what became of it once the workers are done
    done = hub.wait_for(lambda: (lambda j: j if j["status"] == "processed" else None)(
        hub.client.get(r.headers["Location"]).json()))
    assert len(done["document_ids"]) == 2
    rows = received(hub, partner="MOCKBUY")
    assert sorted(x["control_number"] for x in rows) == ["0001", "0002"]
    # the same bytes again: refused as a replay and answered with the original's outcome, not queued
    again = hub.client.post("/api/v1/inbound/edi", content=_two_sets(bad=False),
                            headers={"Prefer": "respond-async"})
    assert again.status_code == 200, again.text
    assert again.json()["original_receipt_id"] == done["receipt_id"]


def test_only_an_ingest_key_for_the_envelopes_partner_may_send(hub: HubProcess) -> None:
    """The key is checked before anything is stored: none is 401, a viewer's 403, and an ingest key
    bound to another partner 403 naming both. Nothing of the refused sends is kept or processed (an
    interchange of MOCKBUY's sent with ACME's key used to be stored and read before the 403), so
    the partner's own key then gets the same interchange in as new, not as a replay."""
    import httpx

    hub.add_partner("MOCKBUY", role="customer", edi={
        "standard": "x12", "interchange_id": "MOCKEDI", "our_interchange_id": "CROSSDOCK", "transport": "mailbox"})
    keys = {}
    for name, role, partner in (("v", "viewer", None), ("own", "ingest", "MOCKBUY"), ("other", "ingest", "ACME")):
        r = hub.client.post("/api/v1/apikeys", json={"name": f"edi-{name}", "role": role, "partner": partner})
        assert r.status_code == 201, r.text
        keys[name] = r.json()["key"]
    body = GOLDEN.read_bytes()

    def send(key: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.post(hub.url + "/api/v1/inbound/edi", content=body, headers=headers)

    anon = send(None)
    assert anon.status_code == 401 and anon.headers["www-authenticate"].startswith("Bearer")
    assert send(keys["v"]).status_code == 403
    other = send(keys["other"])
    assert other.status_code == 403 and "ACME" in other.json()["detail"], other.text
    own = send(keys["own"])
    assert own.status_code in (200, 201, 202), own.text
    assert own.headers["x-correlation-id"]
    rows = hub.wait_for(lambda: received(hub, partner="MOCKBUY") or None)
    assert [r["status"] for r in rows] == ["accepted"]
