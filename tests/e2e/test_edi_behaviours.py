"""mock-edi's partner behaviours and replays, each with the outcome Crossdock documents.

| behaviour / event      | outcome asserted                                                        |
| replayed interchange   | refused (TA1 025 / CONTRL 26), archived, the order not processed twice  |
| corrupt                | reply rejected in our 997 (AK5 R), dead letter naming SE, segment-level |
| reject-ack             | our 850 marked rejected from the partner's 997                          |
| no-ack                 | our 850 stays pending in /api/v1/edi/unacknowledged                     |
| short-ship, reject-line| a confirmed-less note and an edi.confirmed-less case                   |
| over-ship              | shipped-more-than-confirmed / -ordered notes and cases                  |
| duplicate-invoice      | invoice-repeated note and case; one invoice document                    |
| duplicate-order        | one order document, a duplicate-order case, both interchanges acked     |
"""

from __future__ import annotations

import pytest

from tests.e2e.edi_support import LINES, outbound, received, unacknowledged, wire_buyer, wire_seller
from tests.e2e.test_edi_buyer import place, replies
from tests.support.hubproc import HubProcess
from tests.support.mock_edi import MockEdi

pytestmark = pytest.mark.slow


def _rules(hub: HubProcess, po: str) -> set[str]:
    return {n["rule"] for r in received(hub, partner="MOCKSELLER", po_number=po) for n in r["notes"]}


@pytest.mark.parametrize(("standard", "order_code", "ack_set", "refusal"), [
    ("x12", "850", "997", ("TA1", "*R*025")),
    ("edifact", "ORDERS", "CONTRL", ("CONTRL", "+4+26")),  # UCI: rejected (0083=4), duplicate (0085=26)
])
def test_replayed_interchange_is_refused_and_not_processed_twice(hub: HubProcess, mock_edi: MockEdi,
                                                                 standard: str, order_code: str, ack_set: str,
                                                                 refusal: tuple[str, str]) -> None:
    wire_seller(hub, mock_edi, standard=standard, auto_respond=())
    mock_edi.client.purchase("CROSSDOCK", LINES, po_number="PO-R1")
    hub.wait_for(lambda: any(r["set_id"] == ack_set and r["status"] == "sent" for r in outbound(hub)))
    order_out = next(o for o in mock_edi.client.outbox() if o.get("code") == order_code)
    mock_edi.client.resend(order_out["id"])
    refusal_set, code = refusal
    # mock-edi may not read a TA1 from a partner: its MDN says so, and Crossdock records that (refused)
    answers = hub.wait_for(lambda: [r for r in outbound(hub) if r["set_id"] == refusal_set
                                    and r["status"] in ("sent", "refused")][1 if refusal_set == ack_set else 0:])
    rows = received(hub, partner="MOCKEDI")
    assert [r["status"] for r in rows] == ["accepted", "duplicate"]
    docs = hub.client.get("/api/v1/documents", params={"partner": "MOCKEDI"}).json()
    items = docs["items"] if isinstance(docs, dict) else docs
    assert len([d for d in items if d["document_type"] == "purchase_order"]) == 1
    raw = hub.client.get(f"/api/v1/edi/outbound/{answers[0]['id']}/raw").text
    assert code in raw, raw


def test_corrupt_reply_is_rejected_in_our_997_and_dead_lettered(hub: HubProcess, mock_edi: MockEdi) -> None:
    wire_buyer(hub, mock_edi)
    mock_edi.client.patch_partner("ACME", behaviour="corrupt")
    place(hub, "PO-C1")
    hub.wait_for(lambda: len(received(hub, partner="MOCKSELLER", status="rejected")) >= 3)
    dead = hub.client.get("/api/v1/deadletters").json()
    items = dead["items"] if isinstance(dead, dict) else dead
    assert items and all(d["error_code"] == "edi.set_rejected" for d in items)
    rejected = received(hub, partner="MOCKSELLER", status="rejected")
    assert all(any(f["segment_id"] in ("SE", "UNT") for f in r["findings"]) for r in rejected)
    acks = [r for r in outbound(hub, partner="MOCKSELLER") if r["set_id"] == "997"]
    assert acks
    assert all("AK5*R" in hub.client.get(f"/api/v1/edi/outbound/{a['id']}/raw").text for a in acks)


def test_reject_ack_and_no_ack_are_tracked(hub: HubProcess, mock_edi: MockEdi) -> None:
    wire_buyer(hub, mock_edi, exceptions={"sla_hours": {"855": 0.001}})  # 3.6 s
    mock_edi.client.patch_partner("ACME", behaviour="reject-ack")
    sent = place(hub, "PO-A1")
    hub.wait_for(lambda: outbound(hub, set_id="850")[0]["ack_status"] == "rejected")
    mock_edi.client.patch_partner("ACME", behaviour="no-ack")
    second = place(hub, "PO-A2")
    hub.wait_for(lambda: any(r["id"] == second["id"] and r["status"] == "sent" for r in outbound(hub)))
    pending = hub.client.get("/api/v1/edi/unacknowledged").json()
    assert [r["id"] for r in pending] == [second["id"]]
    assert sent["id"] != second["id"]
    # the supplier never confirms PO-A2: the SLA timer opens a missing-855 case for purchasing
    late = hub.wait_for(lambda: {c["business_key"] for c in hub.client.get(
        "/api/v1/cases", params={"type": "missing_855"}).json()["items"]} >= {"ACME/PO-A2"}, timeout=20)
    assert late


@pytest.mark.parametrize(("behaviour", "expected"), [
    ("short-ship", {"confirmed-less"}),
    ("reject-line", {"confirmed-less"}),
    ("over-ship", {"shipped-more-than-confirmed", "shipped-more-than-ordered"}),
    ("duplicate-invoice", {"invoice-repeated"}),
])
def test_business_differences_become_notes_and_cases(hub: HubProcess, mock_edi: MockEdi,
                                                     behaviour: str, expected: set[str]) -> None:
    wire_buyer(hub, mock_edi)
    mock_edi.client.patch_partner("ACME", behaviour=behaviour)
    place(hub, "PO-D1")
    count = 4 if behaviour == "duplicate-invoice" else 3

    def all_replies() -> bool:  # mock-edi sends a repeated invoice a second later on its own clock
        mock_edi.client.advance(seconds=1)
        return len([r for r in received(hub, partner="MOCKSELLER", po_number="PO-D1") if r["status"] != "ack"]) >= count
    hub.wait_for(all_replies, interval=0.5)
    hub.wait_for(lambda: expected <= _rules(hub, "PO-D1"))
    cases = hub.client.get("/api/v1/cases", params={"partner": "MOCKSELLER"}).json()
    items = cases["items"] if isinstance(cases, dict) else cases
    assert {f"edi.{rule}" for rule in expected} <= {c["type"] for c in items}
    hub.wait_for(lambda: unacknowledged(mock_edi) == [], timeout=15)


def test_duplicate_order_is_one_order_and_a_case(hub: HubProcess, mock_edi: MockEdi) -> None:
    wire_seller(hub, mock_edi, auto_respond=("855",))
    mock_edi.client.patch_partner("CROSSDOCK", behaviour="duplicate-order")
    mock_edi.client.purchase("CROSSDOCK", LINES, po_number="PO-DUP")

    def both_copies() -> bool:  # mock-edi queues the second copy a second later on its own clock
        mock_edi.client.advance(seconds=1)
        return len(received(hub, partner="MOCKEDI", po_number="PO-DUP")) >= 2
    hub.wait_for(both_copies, interval=0.5)
    rows = received(hub, partner="MOCKEDI", po_number="PO-DUP")
    assert len({r["document_id"] for r in rows}) == 1
    assert any(n["rule"] == "duplicate-order" for r in rows for n in r["notes"]), rows
    hub.wait_for(lambda: len([r for r in outbound(hub) if r["set_id"] == "997" and r["status"] == "sent"]) >= 2)
    assert len([r for r in outbound(hub) if r["set_id"] == "855"]) == 1


def test_strict_partner_accepts_everything_crossdock_writes(hub: HubProcess, mock_edi: MockEdi) -> None:
    wire_seller(hub, mock_edi, behaviour="strict")
    mock_edi.client.purchase("CROSSDOCK", LINES, po_number="PO-ST1")
    hub.wait_for(lambda: {r["set_id"]: r["ack_status"] for r in outbound(hub) if r["set_id"] != "997"}
                 == {"855": "accepted", "856": "accepted", "810": "accepted"}, timeout=30)
    assert unacknowledged(mock_edi) == []


def test_out_of_order_replies_are_linked_and_noted(hub: HubProcess, mock_edi: MockEdi) -> None:
    wire_buyer(hub, mock_edi)
    mock_edi.client.patch_partner("ACME", behaviour="out-of-order")
    sent = place(hub, "PO-O1")
    rows = replies(hub, "PO-O1", 3)
    assert {r["set_id"] for r in rows} == {"855", "856", "810"}
    assert all(r["outbound_id"] == sent["id"] for r in rows)
    assert "billed-before-shipped" in _rules(hub, "PO-O1")
    hub.wait_for(lambda: unacknowledged(mock_edi) == [], timeout=15)


def test_late_acknowledgment_is_overdue_then_accepted(hub: HubProcess, mock_edi: MockEdi) -> None:
    hub.add_partner("MOCKSELLER", role="supplier", edi={
        "standard": "x12", "interchange_id": "MOCKEDI", "our_interchange_id": "ACME",
        "ack_expected_within_seconds": 1},
        as2={"as2_id": "MOCKEDI", "our_as2_id": "ACME", "url": mock_edi.as2_url})
    mock_edi.client.patch_partner("ACME", as2_url=f"{hub.url}/as2", behaviour="late")
    sent = place(hub, "PO-L1")
    overdue = hub.wait_for(lambda: [r for r in hub.client.get("/api/v1/edi/unacknowledged").json() if r["overdue"]])
    assert [r["id"] for r in overdue] == [sent["id"]]
    late = hub.wait_for(lambda: hub.client.get("/api/v1/cases", params={"type": "missing_997"}).json()["items"],
                        timeout=20)  # the scheduler's SLA timer opens a case for the operations queue
    assert late[0]["partner_id"] == "MOCKSELLER" and late[0]["business_key"].startswith("MOCKSELLER/interchange/")
    mock_edi.client.advance(seconds=3601)
    hub.wait_for(lambda: hub.client.get("/api/v1/edi/unacknowledged").json() == [], timeout=30)
    assert outbound(hub, set_id="850")[0]["ack_status"] == "accepted"


def test_change_after_confirm_is_recorded_as_a_case(hub: HubProcess, mock_edi: MockEdi) -> None:
    wire_seller(hub, mock_edi, auto_respond=("855",))
    mock_edi.client.patch_partner("CROSSDOCK", behaviour="change-after-confirm")
    mock_edi.client.purchase("CROSSDOCK", LINES, po_number="PO-CH1")
    hub.wait_for(lambda: any(n["rule"] == "change-after-confirm"
                             for r in received(hub, partner="MOCKEDI", po_number="PO-CH1") for n in r["notes"]))
    cases = hub.client.get("/api/v1/cases", params={"partner": "MOCKEDI"}).json()
    items = cases["items"] if isinstance(cases, dict) else cases
    assert "edi.change-after-confirm" in {c["type"] for c in items}
    hub.wait_for(lambda: unacknowledged(mock_edi) == [], timeout=15)
