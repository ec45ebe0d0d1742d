"""Sales orders against the real mock-sap: create, read back, exactly once, business rejections."""

from __future__ import annotations

from decimal import Decimal

import pytest

from canonical.errors import BusinessException
from connectors.erp import SapS4Gateway
from tests.connectors.erp.sap_data import MATERIALS, SOLD_TO, make_po
from tests.support.mock_sap import MockSap

pytestmark = pytest.mark.mock_sap


def _orders_for(sap: MockSap, po_number: str) -> list[dict]:
    return sap.control.odata(
        "A_SalesOrder", filter=f"PurchaseOrderByCustomer eq '{po_number}' and SoldToParty eq '{SOLD_TO}'")


def test_created_order_reads_back_with_customer_items_quantities_and_prices(gateway, po):
    number, created = gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)

    assert created is True
    order = gateway.read_sales_order(number)
    assert order is not None
    assert (order.sold_to, order.customer_po, order.currency) == (SOLD_TO, "PO-CD-1001", "EUR")
    assert [(i.material, i.requested_quantity, i.unit, i.net_amount) for i in order.items] == [
        ("TG11", Decimal("3"), "PC", Decimal("2997.00")),
        ("TG12", Decimal("5"), "PC", Decimal("2252.50")),
    ]
    assert order.total_net_amount == Decimal("5249.50")
    assert [i.item for i in order.items] == ["000010", "000020"]


def test_second_ensure_is_a_no_op(gateway: SapS4Gateway, mock_sap: MockSap, po):
    first = gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)
    second = gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)

    assert second == (first.sales_order, False)
    assert len(_orders_for(mock_sap, po.po_number)) == 1
    assert gateway.find_sales_order(customer_po=po.po_number, sold_to=SOLD_TO) == first.sales_order


def test_same_po_number_from_another_customer_is_another_order(gateway, mock_sap, po):
    mine = gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)
    theirs = gateway.ensure_sales_order(po, sold_to="1000002", materials=MATERIALS)

    assert theirs.created and theirs.sales_order != mine.sales_order


def test_unknown_order_reads_as_none(gateway):
    assert gateway.read_sales_order("0099999999") is None


def test_several_orders_in_one_batch_round_trip(gateway, mock_sap):
    orders = gateway.read_sales_orders(["0000004712", "0099999999", "0000004713"])

    assert [o.sales_order for o in orders] == ["0000004712", "0000004713"]
    assert all(o.items for o in orders)
    posts = [r for r in mock_sap.control.requests() if r["method"] == "POST"]
    assert [r["path"].rsplit("/", 1)[-1] for r in posts] == ["$batch"]


def test_unknown_material_is_a_business_exception_naming_line_and_customer(gateway, mock_sap, po):
    with pytest.raises(BusinessException) as caught:
        gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials={"1": "TG11", "2": "NOPE-42"})

    assert caught.value.code == "erp.rejected.unknown_material"
    assert caught.value.details["line_number"] == "2"
    assert caught.value.details["material"] == "NOPE-42"
    assert caught.value.details["sold_to"] == SOLD_TO
    assert _orders_for(mock_sap, po.po_number) == []


def test_blocked_customer_is_a_business_exception(gateway, mock_sap, po):
    mock_sap.control.patch("A_BusinessPartner", SOLD_TO, {"BusinessPartnerIsBlocked": True})

    with pytest.raises(BusinessException) as caught:
        gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)

    assert caught.value.code == "erp.rejected.blocked_customer"
    assert caught.value.details["sold_to"] == SOLD_TO
    assert _orders_for(mock_sap, po.po_number) == []


def test_supplier_is_not_a_sold_to_party(gateway, po):
    with pytest.raises(BusinessException) as caught:
        gateway.ensure_sales_order(po, sold_to="1000009", materials=MATERIALS)

    assert caught.value.code == "erp.rejected.unknown_customer"


def test_a_line_without_a_material_is_refused_before_anything_is_sent(gateway, mock_sap):
    po = make_po("PO-CD-UNMAPPED")
    with pytest.raises(BusinessException) as caught:
        gateway.create_sales_order(po, sold_to=SOLD_TO, materials={"1": "TG11"})

    assert caught.value.code == "erp.rejected.unmapped_item"
    assert caught.value.details["lines"] == ["2"]
