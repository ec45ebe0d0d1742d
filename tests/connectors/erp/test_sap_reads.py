"""Reads against the real mock-sap: master data and documents, and delta since a token."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from connectors.erp import DeliveryLine
from tests.connectors.erp.sap_data import MATERIALS, SOLD_TO

pytestmark = pytest.mark.mock_sap


def test_products_read_and_delta_returns_only_the_changed_one(gateway, mock_sap):
    first = gateway.read_products()
    assert {"TG11", "TG12", "MZ-FG-C100"} <= {p.product for p in first.records}
    tg11 = next(p for p in first.records if p.product == "TG11")
    assert (tg11.base_unit, tg11.product_type, tg11.marked_for_deletion) == ("PC", "FERT", False)

    assert gateway.read_products(since=first.delta_token).records == []
    mock_sap.control.patch("A_Product", "TG12", {"IsMarkedForDeletion": True})
    changed = gateway.read_products(since=first.delta_token)

    assert [(p.product, p.marked_for_deletion) for p in changed.records] == [("TG12", True)]
    assert changed.delta_token >= first.delta_token


def test_business_partners_read_and_delta(gateway, mock_sap):
    first = gateway.read_business_partners()
    partners = {bp.business_partner: bp for bp in first.records}
    assert partners["1000001"].customer == "1000001" and partners["1000001"].name == "Becker Berlin"
    assert partners["1000009"].supplier == "1000009" and partners["1000009"].customer == ""

    mock_sap.control.patch("A_BusinessPartner", "1000002", {"BusinessPartnerIsBlocked": True})
    changed = gateway.read_business_partners(since=first.delta_token)

    assert [(bp.business_partner, bp.blocked) for bp in changed.records] == [("1000002", True)]


def test_deliveries_and_billing_documents_delta_after_our_order_ships_and_bills(
        gateway, mock_sap, po):
    deliveries = gateway.read_deliveries()
    bills = gateway.read_billing_documents()
    assert len(deliveries.records) == 8 and all(d.items for d in deliveries.records)
    assert len(bills.records) == 6 and bills.records[0].gross_amount > 0

    number, _ = gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)
    gateway.post_delivery(delivery_id="SHIP-77", ship_date=date(2026, 11, 23), lines=[
        DeliveryLine(sales_order=number, sales_order_item="000010", material="TG11",
                     quantity=Decimal(3), unit="PC")])
    mock_sap.control.generate_idoc("INVOIC", number)

    new_deliveries = gateway.read_deliveries(since=deliveries.delta_token)
    new_bills = gateway.read_billing_documents(since=bills.delta_token)

    assert len(new_deliveries.records) == 1
    [item] = new_deliveries.records[0].items
    assert (item.sales_order, item.sales_order_item, item.quantity) == (number, "000010", Decimal(3))
    assert len(new_bills.records) == 1
    assert {i.sales_order for i in new_bills.records[0].items} == {number}
    assert new_bills.records[0].sold_to == SOLD_TO


def test_purchase_orders_by_supplier_and_by_number(gateway):
    by_supplier = gateway.read_purchase_orders(supplier="1000015")
    assert by_supplier and {p.supplier for p in by_supplier} == {"1000015"}

    [po] = gateway.read_purchase_orders(numbers=["4500000101"])
    assert (po.supplier, po.currency) == ("1000015", "EUR")
    assert [(i.item, i.material, i.quantity) for i in po.items][0] == ("00010", "TG14", Decimal("213"))
    assert po.items[0].net_price == Decimal("301.14")


def test_sales_order_delta_shows_our_new_order_only(gateway, po):
    first = gateway.read_sales_order_changes()
    assert len(first.records) == 25

    number, _ = gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)
    changed = gateway.read_sales_order_changes(since=first.delta_token)

    assert [(o.sales_order, o.customer_po, len(o.items)) for o in changed.records] == [
        (number, po.po_number, 2)]
