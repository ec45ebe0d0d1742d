"""One order whichever way it arrives; changes and cancels applied in order (real hub process)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.hubproc import HubProcess

ASYNC = {"Prefer": "respond-async"}


def shop_order(**extra: Any) -> dict[str, Any]:
    return {"id": "PO-7001", "created_at": "2026-11-23T09:15:00Z", "currency": "EUR",
            "customer": {"id": "ACME", "company": "Acme Retail"},
            "items": [{"sku": "WID-100", "title": "Widget", "qty": 24, "unit": "pc", "price": "2.50"},
                      {"sku": "GAD-200", "title": "Gadget", "qty": 6, "unit": "case", "price": "31.00"}], **extra}


FIELD_SALES_CSV = (
    b"PO Number,Order Date,Customer No,Customer Name,Sales Rep,Line,Item,Quantity,Unit,Unit Price,Delivery Date\n"
    b"PO-7001,2026-11-23,ACME,Acme Retail,Jo,1,WID-100,24,ST,2.50,\n"
    b"PO-7001,2026-11-23,ACME,Acme Retail,Jo,2,GAD-200,6,KT,31.00,\n"
)


def canonical_order(revision: int = 0, purpose: str = "new", quantity: str = "24") -> dict[str, Any]:
    return {"document_type": "purchase_order", "po_number": "PO-7001", "purpose": purpose, "revision": revision,
            "order_date": "2026-11-23", "currency": "EUR", "buyer": {"id": "ACME"},
            "lines": [] if purpose == "cancel" else [
                {"line_number": "1", "vendor_item": "WID-100", "quantity": quantity, "uom": "EA", "unit_price": "2.50"},
                {"line_number": "2", "vendor_item": "GAD-200", "quantity": "6", "uom": "CA", "unit_price": "31.00"}]}


def orders(hub: HubProcess) -> list[dict[str, Any]]:
    docs = hub.client.get("/api/v1/documents", params={"business_key": "ACME/PO-7001"}).json()["items"]
    return sorted(docs, key=lambda d: d["id"])


def test_one_order_by_rest_canonical_and_csv_is_one_order(hub: HubProcess) -> None:
    hub.add_partner("ACME")
    hub.add_partner("SHOP", role="shop", record_maps={"purchase_order": "webshop_order"})
    hub.add_partner("FIELD", role="internal", record_maps={"purchase_order": "field_sales_csv"})

    first = hub.client.post("/api/v1/inbound/SHOP/purchase_order", content=json.dumps(shop_order()).encode())
    assert first.status_code == 201, first.text
    by_csv = hub.client.post("/api/v1/inbound/FIELD/purchase_order", content=FIELD_SALES_CSV,
                             headers={"Content-Type": "text/csv"})
    by_api = hub.client.post("/api/v1/inbound/ACME/purchase_order", json=canonical_order())
    for r in (by_csv, by_api):
        assert r.status_code == 200 and r.json()["status"] == "already_seen", r.text
        assert r.json()["document_ids"] == first.json()["document_ids"]
    assert [d["business_key"] for d in orders(hub)] == ["ACME/PO-7001"]
    assert hub.client.get("/api/v1/cases").json()["items"] == []


def test_same_po_number_with_other_content_is_a_duplicate_order_case(hub: HubProcess) -> None:
    hub.add_partner("ACME")
    hub.add_partner("SHOP", role="shop", record_maps={"purchase_order": "webshop_order"}, resend="acknowledge")
    assert hub.client.post("/api/v1/inbound/ACME/purchase_order", json=canonical_order()).status_code == 201
    other = hub.client.post("/api/v1/inbound/ACME/purchase_order", json=canonical_order(quantity="30"))
    assert other.json()["status"] == "case", other.text
    case = hub.client.get(f"/api/v1/cases/{other.json()['case_id']}").json()
    assert case["type"] == "duplicate_order" and case["business_key"] == "ACME/PO-7001"
    assert case["details"]["detection"]["evidence"]["rule"] == "same_key_different_content"
    # operations confirm with the buyer that it was a resend: acknowledged, never a second order
    done = hub.client.post(f"/api/v1/cases/{case['id']}/resolve",
                           json={"action": "confirm_with_partner", "reason": "buyer resent with a typo"})
    assert done.status_code == 200 and done.json()["released_job_id"], done.text
    rid = other.json()["receipt_id"]
    hub.wait_for(lambda: hub.client.get(f"/api/v1/receipts/{rid}").json()["status"] == "already_seen")
    # a partner set to "acknowledge but do not process again": the resend is acknowledged, no case
    resend = shop_order(items=[{"sku": "WID-100", "qty": 99, "unit": "pc", "price": "2.50"}])
    r = hub.client.post("/api/v1/inbound/SHOP/purchase_order", content=json.dumps(resend).encode())
    assert r.status_code == 200 and r.json()["status"] == "already_seen", r.text
    assert len(orders(hub)) == 1
    assert len(hub.client.get("/api/v1/cases").json()["items"]) == 1


def test_change_and_cancel_in_order(hub: HubProcess) -> None:
    hub.add_partner("ACME")
    for doc in (canonical_order(), canonical_order(1, "change", "30"), canonical_order(2, "cancel")):
        r = hub.client.post("/api/v1/inbound/ACME/purchase_order", json=doc)
        assert r.status_code == 201, r.text
    docs = orders(hub)
    assert [(d["revision"], d["status"]) for d in docs] == [("0", "superseded"), ("1", "superseded"),
                                                             ("2", "accepted")]
    assert hub.client.get("/api/v1/documents/" + str(docs[2]["id"])).json()["canonical"]["purpose"] == "cancel"


def test_change_and_cancel_out_of_order_wait_for_their_original(hub: HubProcess) -> None:
    hub.add_partner("ACME")
    cancel = hub.client.post("/api/v1/inbound/ACME/purchase_order", json=canonical_order(2, "cancel"), headers=ASYNC)
    change = hub.client.post("/api/v1/inbound/ACME/purchase_order", json=canonical_order(1, "change", "30"),
                             headers=ASYNC)
    for r in (cancel, change):
        rid = r.json()["receipt_id"]
        hub.wait_for(lambda rid=rid: hub.client.get(f"/api/v1/receipts/{rid}").json()["status"] == "waiting")
    assert orders(hub) == []
    original = hub.client.post("/api/v1/inbound/ACME/purchase_order", json=canonical_order())
    assert original.status_code == 201, original.text
    docs = hub.wait_for(lambda: len(d := orders(hub)) == 3 and d[-1]["status"] == "accepted" and d)
    assert [d["revision"] for d in docs] == ["0", "1", "2"]  # applied in revision order
    assert [d["status"] for d in docs] == ["superseded", "superseded", "accepted"]


def test_a_change_whose_original_never_comes_opens_a_case(hub: HubProcess) -> None:
    hub.add_partner("ACME", exceptions={"revision_wait_hours": 0.0003})  # about one second
    r = hub.client.post("/api/v1/inbound/ACME/purchase_order", json=canonical_order(1, "change"), headers=ASYNC)
    cases = hub.wait_for(lambda: hub.client.get("/api/v1/cases", params={"type": "revision_waiting_for_original"})
                         .json()["items"])
    assert cases[0]["business_key"] == "ACME/PO-7001" and cases[0]["status"] == "open"
    assert cases[0]["recommended_action"] == "request_original"
    assert hub.client.get(f"/api/v1/receipts/{r.json()['receipt_id']}").json()["status"] == "waiting"
    # the original arrives after all: the change goes on and the waiting case closes itself
    hub.client.post("/api/v1/inbound/ACME/purchase_order", json=canonical_order())
    hub.wait_for(lambda: len(orders(hub)) == 2)
    closed = hub.client.get(f"/api/v1/cases/{cases[0]['id']}").json()
    assert closed["status"] == "resolved" and closed["history"][-1]["reason"] == "the original arrived"


X12_850 = "~".join([
    "ISA*00*          *00*          *ZZ*ACMEEDI        *ZZ*CROSSDOCK      *261123*1200*U*00401*000000071*0*T*>",
    "GS*PO*ACMEEDI*CROSSDOCK*20261123*1200*71*X*004010", "ST*850*0001", "BEG*00*SA*PO-7001**20261123",
    "CUR*BY*EUR", "N1*BY*Acme Retail*92*ACME", "PO1*1*24*EA*2.50**VP*WID-100", "PO1*2*6*CA*31.00**VP*GAD-200",
    "CTT*2", "SE*8*0001", "GE*1*71", "IEA*1*000000071", ""])


def test_the_same_order_by_edi_is_the_same_order(hub: HubProcess) -> None:
    hub.add_partner("ACME")
    hub.add_partner("SHOP", role="shop", record_maps={"purchase_order": "webshop_order"})
    first = hub.client.post("/api/v1/inbound/SHOP/purchase_order", content=json.dumps(shop_order()).encode())
    assert first.status_code == 201, first.text
    by_edi = hub.client.post("/api/v1/inbound/ACME/purchase_order", content=X12_850.encode(),
                             headers={"Content-Type": "application/edi-x12"})
    assert by_edi.status_code == 200 and by_edi.json()["status"] == "already_seen", by_edi.text
    assert by_edi.json()["document_ids"] == first.json()["document_ids"]
    assert len(orders(hub)) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_partner_schema_rules_are_data_and_name_the_field(hub: HubProcess) -> None:
    rules = {"purchase_order": {"properties": {"ship_to": {"type": "object"}, "lines": {"items": {
        "properties": {"quantity": {"pattern": "^[0-9]+$"}}}}}}}  # always a ship-to; whole units
    hub.add_partner("ACME", schema_rules=rules)
    r = hub.client.post("/api/v1/inbound/ACME/purchase_order", json=canonical_order(quantity="2.5"))
    assert r.status_code == 422 and r.json()["stage"] == "partner_rules", r.text
    assert {f["path"] for f in r.json()["findings"]} == {"ship_to", "lines[0].quantity"}
    assert "None is not of type 'object'" in r.json()["detail"]
