"""Helpers for the EDI end-to-end tests: a hub and mock-edi wired to each other over AS2."""

from __future__ import annotations

from typing import Any

from tests.support.hubproc import HubProcess
from tests.support.mock_edi import MAP_OVERRIDES, MockEdi

LINES = [{"sku": "WIDGET-001", "quantity": "10", "uom": "EA", "price": "12.50"},
         {"sku": "BRKT-050", "quantity": "4", "uom": "EA", "price": "4.15"}]


def wire_seller(hub: HubProcess, mock: MockEdi, *, standard: str = "x12", behaviour: str = "accept",
                auto_respond: tuple[str, ...] = ("855", "856", "810")) -> None:
    """Crossdock sells to mock-edi: mock-edi's supplier CROSSDOCK is Crossdock's /as2."""
    edifact = standard == "edifact"
    hub.add_partner("MOCKEDI", role="customer", edi={
        "standard": standard, "interchange_id": "MOCKEDI", "our_interchange_id": "CROSSDOCK",
        "interchange_qualifier": "ZZ", "our_interchange_qualifier": "ZZ", "auto_respond": list(auto_respond),
        # mock-edi's 860 / ORDCHG names no buyer party: the profile says who it is; and what
        # its dictionary lacks (MAP_OVERRIDES: no ACK01 BP) is written as it understands it
        "map_overrides": {**MAP_OVERRIDES,
                          **{s: {"defaults": {"buyer.id": "MOCKEDI"}} for s in ("860", "ORDCHG")}}},
        as2={"as2_id": "MOCKEDI", "our_as2_id": "CROSSDOCK", "url": mock.as2_url})
    mock.client.add_partner("CROSSDOCK", role="supplier", dialect="EDIFACT" if edifact else "X12",
                            version="D:96A:UN" if edifact else "004010", as2_url=f"{hub.url}/as2",
                            behaviour=behaviour)


def wire_buyer(hub: HubProcess, mock: MockEdi, *, as_customer: str = "ACME", standard: str = "x12",
               partner_id: str = "MOCKSELLER", **profile: Any) -> None:
    """Crossdock buys from mock-edi, trading as its customer ``as_customer`` (ACME / EURODIS)."""
    q = "14" if standard == "edifact" else "ZZ"
    hub.add_partner(partner_id, role="supplier", edi={
        "standard": standard, "interchange_id": "MOCKEDI", "our_interchange_id": as_customer,
        "interchange_qualifier": q, "our_interchange_qualifier": q},
        as2={"as2_id": "MOCKEDI", "our_as2_id": as_customer, "url": mock.as2_url}, **profile)
    mock.client.patch_partner(as_customer, as2_url=f"{hub.url}/as2")


def purchase_order(po_number: str, *, buyer: str = "ACME", seller: str = "MOCKEDI") -> dict[str, Any]:
    return {"po_number": po_number, "order_date": "2026-11-23", "currency": "USD",
            "buyer": {"id": buyer, "name": "Crossdock Buyer"}, "seller": {"id": seller},
            "ship_to": {"id": buyer, "name": "Crossdock DC"},
            "lines": [{"line_number": "1", "vendor_item": "WIDGET-001", "quantity": "10", "uom": "EA",
                       "unit_price": "12.50"},
                      {"line_number": "2", "vendor_item": "BRKT-050", "quantity": "4", "uom": "EA",
                       "unit_price": "4.15"}]}


def outbound(hub: HubProcess, **params: str) -> list[dict[str, Any]]:
    r = hub.client.get("/api/v1/edi/outbound", params=params)
    assert r.status_code == 200, r.text
    return list(r.json())


def received(hub: HubProcess, **params: str) -> list[dict[str, Any]]:
    r = hub.client.get("/api/v1/edi/received", params=params)
    assert r.status_code == 200, r.text
    return list(r.json())


def unacknowledged(mock: MockEdi) -> list[dict[str, Any]]:
    return list(mock.client.call("GET", "/_mock/unacknowledged").json())
