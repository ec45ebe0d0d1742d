"""A supplier's replies posted against our ERP purchase order: once, and a case when they name none."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from canonical.errors import BusinessException
from hub.erp import ErpSupplierTarget, post_supplier_document
from tests.e2e.erp_support import sap_read
from tests.support.mock_sap import MockSap

pytestmark = pytest.mark.mock_sap

PO, SUPPLIER = "4500000101", "1000015"  # seeded: item 00010 is 213 PC of TG14


def ship_notice(po: str, line: str = "10") -> dict[str, Any]:
    return {"document_type": "ship_notice", "shipment_id": "ASN-7001", "ship_date": "2026-11-24",
            "seller": {"id": "SUPPLIER"}, "buyer": {"id": "CROSSDOCK"},
            "orders": [{"po_number": po, "packs": [{"items": [
                {"line_number": line, "vendor_item": "TG14", "quantity": "200", "uom": "EA"}]}]}]}


def test_a_ship_notice_is_received_once_and_one_for_an_unknown_order_is_a_case(mock_sap: MockSap) -> None:
    target = ErpSupplierTarget(connection={"base_url": mock_sap.base_url, "auth": "none"}, supplier=SUPPLIER)
    first = post_supplier_document(target, ship_notice(PO))
    assert post_supplier_document(target, ship_notice(PO)) == first  # looked up by delivery note
    [receipt] = sap_read(mock_sap, "API_MATERIAL_DOCUMENT_SRV", "A_MaterialDocumentHeader",
                         filter="ReferenceDocument eq 'ASN-7001'", expand="to_MaterialDocumentItem")
    [item] = receipt["to_MaterialDocumentItem"]["results"]
    assert (receipt["MaterialDocument"], item["PurchaseOrder"], item["PurchaseOrderItem"]) == (first, PO, "00010")
    assert Decimal(item["QuantityInEntryUnit"]) == 200

    for document, code in [(ship_notice("4500009999"), "erp.rejected.unknown_purchase_order"),
                           (ship_notice(PO, line="90") | {"shipment_id": "ASN-7002"}, "erp.rejected.unknown_po_item")]:
        document["orders"][0]["packs"][0]["items"][0]["vendor_item"] = "NOPE"
        with pytest.raises(BusinessException) as caught:
            post_supplier_document(target, document)
        assert caught.value.code == code
