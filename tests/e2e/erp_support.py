"""Helpers for the ERP end-to-end tests: a hub whose customer writes back into mock-sap."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.hubproc import HubProcess
from tests.support.mock_sap import MockSap

SOLD_TO = "1000001"
FAST_RETRIES = {"CROSSDOCK_RETRY_AFTER_CAP_SECONDS": "0.5", "CROSSDOCK_RETRY_INITIAL_SECONDS": "0.1",
                "CROSSDOCK_RETRY_MAX_SECONDS": "0.5", "CROSSDOCK_RETRY_MAX_ATTEMPTS": "30"}


def erp_destination(sap_url: str, **connection: Any) -> dict[str, Any]:
    conn = {"base_url": sap_url, "auth": "none", "timeout_seconds": 5, "in_doubt_hold_seconds": 10, **connection}
    return {"type": "sap_s4", "document_types": ["purchase_order"],
            "erp": {"connection": conn, "sold_to": SOLD_TO, "materials": {"ACME-WID": "TG11"}}}


def add_erp_customer(hub: HubProcess, sap_url: str, partner_id: str = "ACME", **connection: Any) -> None:
    hub.add_partner(partner_id, destinations=[erp_destination(sap_url, **connection)])


def order(po: str, *, lines: list[tuple[str, str, str]] | None = None, revision: int = 0,
          purpose: str = "new") -> dict[str, Any]:
    """A canonical order; ``lines`` are (item, quantity, unit price); ``ACME-WID`` is a buyer item."""
    rows = lines or [("TG11", "3", "999.00"), ("ACME-WID", "5", "450.50")]
    return {"document_type": "purchase_order", "po_number": po, "order_date": "2026-11-23", "currency": "EUR",
            "buyer": {"id": "ACME"}, "revision": revision, "purpose": purpose,
            "lines": [{"line_number": str(i), **({"buyer_item": item} if item.startswith("ACME") else
                                                 {"vendor_item": item}),
                       "quantity": qty, "uom": "EA", "unit_price": price}
                      for i, (item, qty, price) in enumerate(rows, 1)]}


def post_order(hub: HubProcess, doc: dict[str, Any], partner_id: str = "ACME") -> int:
    r = hub.client.post(f"/api/v1/inbound/{partner_id}/purchase_order", json=doc,
                        headers={"Prefer": "respond-async"})
    assert r.status_code in (201, 202), r.text
    docs = hub.wait_for(lambda: documents(hub, f"{partner_id}/{doc['po_number']}"))
    return int(docs[-1]["id"])


def documents(hub: HubProcess, business_key: str) -> list[dict[str, Any]]:
    items = hub.client.get("/api/v1/documents", params={"business_key": business_key}).json()["items"]
    return sorted(items, key=lambda d: d["id"])


def erp_number(hub: HubProcess, business_key: str, timeout: float = 40.0) -> str:
    def ready() -> str | None:
        docs = documents(hub, business_key)
        return docs[0]["erp_document_number"] if docs else None
    return str(hub.wait_for(ready, timeout=timeout))


def sales_orders(sap: MockSap, po: str) -> list[dict[str, Any]]:
    return sap.control.odata("A_SalesOrder", filter=f"PurchaseOrderByCustomer eq '{po}'", expand="to_Item")


def sap_read(sap: MockSap, service: str, entity_set: str, *, filter: str, expand: str | None = None
             ) -> list[dict[str, Any]]:
    """Rows of any OData V2 entity set of mock-sap, as another SAP user would read them."""
    params = {"$format": "json", "$filter": filter, **({"$expand": expand} if expand else {})}
    r = httpx.get(f"{sap.base_url}/sap/opu/odata/sap/{service}/{entity_set}", params=params, timeout=10)
    r.raise_for_status()
    return list(r.json()["d"]["results"])


def create_purchase_order(sap: MockSap, supplier: str, items: list[tuple[str, str, str]]) -> str:
    """A purchase order entered in the ERP by a buyer: ``items`` are (material, quantity, net price)."""
    service = f"{sap.base_url}/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV"
    with httpx.Client(timeout=10) as client:
        token = client.get(service + "/", headers={"X-CSRF-Token": "Fetch"}).headers["x-csrf-token"]
        r = client.post(service + "/A_PurchaseOrder", headers={"X-CSRF-Token": token, "Accept": "application/json"},
                        json={"PurchaseOrderType": "NB", "CompanyCode": "1710", "PurchasingOrganization": "1710",
                              "PurchasingGroup": "001", "Supplier": supplier, "DocumentCurrency": "USD",
                              "to_PurchaseOrderItem": {"results": [
                                  {"Material": m, "OrderQuantity": q, "PurchaseOrderQuantityUnit": "PC",
                                   "NetPriceAmount": p, "NetPriceQuantity": "1", "Plant": "1710"}
                                  for m, q, p in items]}})
        r.raise_for_status()
        return str(r.json()["d"]["PurchaseOrder"])
