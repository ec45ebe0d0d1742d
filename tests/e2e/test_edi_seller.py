"""Crossdock as seller: mock-edi buys over AS2 and files everything Crossdock answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.edi_support import LINES, outbound, received, unacknowledged, wire_seller
from tests.support.hubproc import HubProcess
from tests.support.mock_edi import MockEdi
from tests.support.services import sqlite_database

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


STOCK = {"items": [{"item_number": sku, "base_uom": "EA"} for sku in ("WIDGET-001", "BRKT-050", "GSKT-200")],
         "customers": [{"id": "MOCKEDI"}],
         "stock": [{"item_number": "WIDGET-001", "warehouse": "EAST", "on_hand": "25"},
                   {"item_number": "BRKT-050", "warehouse": "EAST", "on_hand": "3", "allocated": "2"}]}


def test_automatic_answer_confirms_up_to_stock_and_ships_only_what_it_confirmed(
        hub: HubProcess, mock_edi: MockEdi) -> None:
    imported = hub.client.post("/api/v1/refdata", json=STOCK)
    assert imported.status_code == 200, imported.text
    wire_seller(hub, mock_edi)
    time.sleep(1.2)  # the hub rereads reference data once a second
    # BRKT-050: 4 ordered, 1 available (3 on hand, 2 allocated): 1 ships now, 3 are backordered
    # (X12's BP + IB; mock-edi knows no BP, so its profile says IQ); GSKT-200 has no stock record
    lines = [*LINES, {"sku": "GSKT-200", "quantity": "6", "uom": "EA", "price": "2.10"}]
    mock_edi.client.purchase("CROSSDOCK", lines, po_number="PO-STK1")
    rows = _settled(hub, mock_edi, "PO-STK1", ("855", "856", "810"))
    ack = next(r for r in rows if r["set_id"] == "855")
    raw = hub.client.get(f"/api/v1/edi/outbound/{ack['id']}/raw").text
    assert [s.split("*")[:3] for s in raw.split("~") if s.startswith("ACK")] == [
        ["ACK", "IA", "10"], ["ACK", "IQ", "1"], ["ACK", "IB", "3"], ["ACK", "IA", "6"]]
    events = mock_edi.client.timeline("PO-STK1")["events"]
    assert all(e["findings"] == [] and e["accepted"] for e in events if "findings" in e)
    lines_said = mock_edi.client.order("PO-STK1")["reconciliation"]
    assert [(ln["line"], ln["status"], ln["confirmed"], ln["shipped"], ln["billed"]) for ln in lines_said] == [
        ("1", "IA", "10", "10", "10"), ("2", "IQ", "1", "1", "1"), ("3", "IA", "6", "6", "6")]
    # the buyer is told of the short line, and of nothing else (no over-shipping, no over-billing)
    said = mock_edi.client.call("GET", "/_mock/disagreements", params={"po": "PO-STK1"}).json()
    assert [(d["rule"], d["line"], d["expected"], d["found"]) for d in said] == [("confirmed-less", "2", "4", "1")]


@pytest.fixture
def hub_sqlite(tmp_path: Path) -> Iterator[HubProcess]:
    hub = HubProcess(tmp_path / "hub", database_url=sqlite_database(tmp_path / "crossdock.db"))
    hub.start()
    try:
        yield hub
    finally:
        hub.close()


def _change_answered(hub: HubProcess, mock_edi: MockEdi, po: str, *, line: str, quantity: str) -> str:
    """mock-edi changes one line of ``po`` (an 860); Crossdock's 865 is accepted with an MDN: its raw X12."""
    mock_edi.client.call("POST", f"/_mock/purchase/{po}/change", json={
        "lines": [{"line": line, "quantity": quantity, "price": "4.15"}]})
    rows = _settled(hub, mock_edi, po, ("855", "865"))
    answer = next(r for r in rows if r["set_id"] == "865")
    assert answer["ack_status"] == "accepted" and answer["receipt"].startswith("MDN")
    return str(hub.client.get(f"/api/v1/edi/outbound/{answer['id']}/raw").text)


def test_a_change_before_shipping_is_answered_with_an_865(hub_sqlite: HubProcess, mock_edi: MockEdi) -> None:
    hub = hub_sqlite
    wire_seller(hub, mock_edi, auto_respond=("855", "865"))
    mock_edi.client.purchase("CROSSDOCK", LINES, po_number="PO-CHG1")
    _settled(hub, mock_edi, "PO-CHG1", ("855",))
    raw = _change_answered(hub, mock_edi, "PO-CHG1", line="2", quantity="6")
    segments = [s.split("*") for s in raw.split("~")]
    bca = next(s for s in segments if s[0].strip() == "BCA")
    assert (bca[2], bca[3], bca[5]) == ("AD", "PO-CHG1", "1")  # accepted, the order, the change it answers
    assert [s[:3] for s in segments if s[0].strip() == "ACK"] == [["ACK", "IA", "6"]]
    _filed_cleanly(hub, mock_edi, "PO-CHG1", ["855", "865"], [("1", "10", "10"), ("2", "6", "6")])


def test_a_change_partly_filled_from_stock_is_answered_with_bp_and_ib(
        hub_sqlite: HubProcess, mock_edi: MockEdi) -> None:
    hub = hub_sqlite
    # the ship-to known and the order within stock, so it is held and the change can follow it
    stock = {**STOCK, "customers": [{"id": "MOCKEDI", "ship_tos": [{"id": "MOCKEDI", "warehouse": "EAST"}]}]}
    imported = hub.client.post("/api/v1/refdata", json=stock)
    assert imported.status_code == 200, imported.text
    wire_seller(hub, mock_edi, auto_respond=("855", "865"))
    time.sleep(1.2)  # the hub rereads reference data once a second
    lines = [LINES[0], {**LINES[1], "quantity": "1"}]  # BRKT-050: 1 available (3 on hand, 2 allocated)
    mock_edi.client.purchase("CROSSDOCK", lines, po_number="PO-CHG3")
    _settled(hub, mock_edi, "PO-CHG3", ("855",))
    raw = _change_answered(hub, mock_edi, "PO-CHG3", line="2", quantity="4")
    # the change's own line ships 1 now, 3 are backordered: X12's BP + IB; mock-edi knows no
    # BP in an 865 either, so its profile says IQ
    assert [s.split("*")[:3] for s in raw.split("~") if s.startswith("ACK")] == [
        ["ACK", "IQ", "1"], ["ACK", "IB", "3"]]
    events = mock_edi.client.timeline("PO-CHG3")["events"]
    assert [e["code"] for e in events if e["event"] == "received"] == ["855", "865"]
    assert all(e["findings"] == [] and e["accepted"] for e in events if "findings" in e)
    lines_said = mock_edi.client.order("PO-CHG3")["reconciliation"]
    assert [(ln["line"], ln["status"], ln["ordered"], ln["confirmed"]) for ln in lines_said] == [
        ("1", "IA", "10", "10"), ("2", "IQ", "4", "1")]
    # the buyer is told of the short line, and of nothing else
    said = mock_edi.client.call("GET", "/_mock/disagreements", params={"po": "PO-CHG3"}).json()
    assert [(d["code"], d["rule"], d["line"], d["expected"], d["found"]) for d in said] == [
        ("865", "confirmed-less", "2", "4", "1")]
    assert unacknowledged(mock_edi) == []
    cases = hub.client.get("/api/v1/cases", params={"partner": "MOCKEDI"}).json()
    cases = cases["items"] if isinstance(cases, dict) else cases
    # answered: no edi.change-after-confirm (the detectors may still flag the short stock)
    assert not [c for c in cases if c["type"].startswith("edi.")]


def _filed_cleanly(hub: HubProcess, mock_edi: MockEdi, po: str, received_codes: list[str],
                   confirmed: list[tuple[str, str, str]]) -> None:
    """mock-edi filed our answers to ``po`` without findings or disagreements, its lines now say
    (line, ordered, confirmed) as given, nothing is left unacknowledged and no case was opened."""
    events = mock_edi.client.timeline(po)["events"]
    assert [e["code"] for e in events if e["event"] == "received"] == received_codes
    assert all(e["findings"] == [] and e["accepted"] for e in events if "findings" in e)
    lines = mock_edi.client.order(po)["reconciliation"]
    assert [(ln["line"], ln["ordered"], ln["confirmed"]) for ln in lines] == confirmed
    assert mock_edi.client.call("GET", "/_mock/disagreements", params={"po": po}).json() == []
    assert unacknowledged(mock_edi) == []
    cases = hub.client.get("/api/v1/cases", params={"partner": "MOCKEDI"}).json()
    assert not (cases["items"] if isinstance(cases, dict) else cases)  # answered: nothing for a person


def _edifact_segments(raw: str) -> list[list[list[str]]]:
    """Each segment as elements of components (Crossdock writes no release characters here)."""
    return [[e.split(":") for e in s.strip().split("+")] for s in raw.split("'") if s.strip()]


def test_an_edifact_change_before_shipping_is_answered_with_an_ordrsp(
        hub_sqlite: HubProcess, mock_edi: MockEdi) -> None:
    hub = hub_sqlite
    wire_seller(hub, mock_edi, standard="edifact", auto_respond=("855", "865"))
    # mock-edi, as buyer, halves its first line with an ORDCHG once Crossdock's ORDRSP arrives
    mock_edi.client.patch_partner("CROSSDOCK", behaviour="change-after-confirm")
    mock_edi.client.purchase("CROSSDOCK", LINES, po_number="PO-CHG2")

    def answered() -> list[dict[str, Any]] | None:
        rows = outbound(hub, partner="MOCKEDI")
        if [r["set_id"] for r in rows].count("ORDRSP") < 2:
            return None
        if any(r["status"] != "sent" or r["ack_status"] == "pending" for r in rows):
            return None
        return rows
    rows = hub.wait_for(answered, timeout=30)
    first, answer = [r for r in rows if r["set_id"] == "ORDRSP"]
    assert all(r["ack_status"] == "accepted" and r["receipt"].startswith("MDN") for r in (first, answer))
    assert {r["set_id"] for r in rows} == {"ORDRSP", "CONTRL"}  # no 865 in EDIFACT, no 856 / 810 asked for
    segments = _edifact_segments(hub.client.get(f"/api/v1/edi/outbound/{answer['id']}/raw").text)
    bgm = next(s for s in segments if s[0] == ["BGM"])
    assert bgm[1:] == [["231"], ["SO-PO-CHG2"], ["4"], ["AP"]]  # a response, answering a change, accepted
    assert [s[1] for s in segments if s[0] == ["RFF"]] == [["ON", "PO-CHG2"], ["CR", "PO-CHG2-1"]]
    lines = [s[1:3] for s in segments if s[0] == ["LIN"]]
    assert lines == [[["1"], ["5"]]]  # only the line the change names, accepted
    assert [s[1] for s in segments if s[0] == ["QTY"]] == [["21", "5", "PCE"], ["113", "5", "PCE"]]
    first_bgm = next(s for s in _edifact_segments(hub.client.get(f"/api/v1/edi/outbound/{first['id']}/raw").text)
                     if s[0] == ["BGM"])
    assert first_bgm[3] == ["9"]  # the answer to the order itself is still the original

    change = [r for r in received(hub, partner="MOCKEDI", po_number="PO-CHG2") if r["set_id"] == "ORDCHG"]
    assert [(r["status"], r["notes"]) for r in change] == [("accepted", [])]
    _filed_cleanly(hub, mock_edi, "PO-CHG2", ["ORDRSP", "ORDRSP"], [("1", "5", "5"), ("2", "4", "4")])
    assert hub.client.get("/api/v1/edi/unacknowledged").json() == []
