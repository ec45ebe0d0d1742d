"""Postings against the real mock-sap: DELVRY07 and ORDRSP IDocs, supplier invoices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from canonical.documents import Invoice, OrderAcknowledgment
from canonical.errors import BusinessException
from connectors.erp import DeliveryLine, GoodsReceiptLine
from tests.connectors.erp.sap_data import MATERIALS, SOLD_TO

pytestmark = pytest.mark.mock_sap


def test_delvry07_posts_with_status_53_and_moves_the_order(gateway, mock_sap, po):
    number, _ = gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)
    lines = [DeliveryLine(sales_order=number, sales_order_item="000010", material="TG11",
                          quantity=Decimal(3), unit="PC"),
             DeliveryLine(sales_order=number, sales_order_item="000020", material="TG12",
                          quantity=Decimal(5), unit="PC")]

    receipt = gateway.post_delivery(delivery_id="SHIP-1", ship_date=date(2026, 11, 23), lines=lines)

    assert receipt.posted and receipt.message_type == "DELVRY"
    assert receipt.applied[0]["SALESORDER"] == number and receipt.applied[0]["DELIVERY"]
    listed = {i["docnum"]: i for i in mock_sap.control.idocs()}
    assert listed[receipt.docnum]["status"] == "53"
    assert listed[receipt.docnum]["idoctyp"] == "DELVRY07"
    order = gateway.read_sales_order(number)
    assert order is not None and order.delivery_status == "C"


def test_delvry07_for_an_order_the_erp_does_not_know_is_a_business_exception(gateway, mock_sap):
    line = DeliveryLine(sales_order="0099999999", sales_order_item="000010", material="TG11",
                        quantity=Decimal(1), unit="PC")

    with pytest.raises(BusinessException) as caught:
        gateway.post_delivery(delivery_id="SHIP-2", ship_date=date(2026, 11, 23), lines=[line])

    assert caught.value.code == "erp.rejected.idoc_not_posted"
    assert caught.value.details["status"] == "51"
    assert "0099999999" in caught.value.details["status_text"]
    assert mock_sap.control.idocs()[0]["status"] == "51"


def test_delivering_more_than_ordered_is_refused(gateway, po):
    number, _ = gateway.ensure_sales_order(po, sold_to=SOLD_TO, materials=MATERIALS)
    line = DeliveryLine(sales_order=number, sales_order_item="000010", material="TG11",
                        quantity=Decimal(4), unit="PC")

    with pytest.raises(BusinessException) as caught:
        gateway.post_delivery(delivery_id="SHIP-3", ship_date=date(2026, 11, 23), lines=[line])

    assert caught.value.details["status"] == "51"


def test_order_confirmation_is_filed_as_ordrsp(gateway, mock_sap):
    ack = OrderAcknowledgment.model_validate({
        "po_number": "4500000101", "ack_date": "2026-11-23", "status": "accepted_with_changes",
        "currency": "EUR", "buyer": {"id": "CROSSDOCK"}, "seller": {"id": "EURODIS"},
        "lines": [{"line_number": "00010", "status": "changed", "quantity": "200",
                   "ordered_quantity": "213", "uom": "PC", "vendor_item": "TG14",
                   "scheduled_date": "2026-12-01"}]})

    receipt = gateway.post_order_confirmation(ack, purchase_order="4500000101", supplier="1000015")

    assert receipt.posted
    [listed] = [i for i in mock_sap.control.idocs() if i["docnum"] == receipt.docnum]
    assert (listed["mestyp"], listed["idoctyp"], listed["status"]) == ("ORDRSP", "ORDERS05", "53")


def test_supplier_invoice_is_posted_once(gateway, mock_sap):
    invoice = Invoice.model_validate({
        "invoice_number": "EU-INV-9001", "invoice_date": "2026-11-20", "po_number": "4500000101",
        "currency": "EUR", "seller": {"id": "EURODIS"}, "buyer": {"id": "CROSSDOCK"},
        "lines": [{"line_number": "1", "quantity": "10", "unit_price": "119.00"}],
        "totals": {"total_amount": "1190.00"}})

    number = gateway.post_supplier_invoice(invoice, supplier="1000015")
    again = gateway.post_supplier_invoice(invoice, supplier="1000015")

    assert number and again == number
    [row] = mock_sap.control.odata("A_SupplierInvoice",
                                   filter="SupplierInvoiceIDByInvcgParty eq 'EU-INV-9001'")
    assert (row["SupplierInvoice"], row["InvoicingParty"], row["InvoiceGrossAmount"]) == (
        number, "1000015", "1190.00")


def test_goods_receipt_is_posted_once_per_delivery_note(gateway, mock_sap):
    line = GoodsReceiptLine(purchase_order="4500000101", purchase_order_item="00010",
                            material="TG14", plant="1710", quantity=Decimal(213), unit="PC")

    number = gateway.post_goods_receipt(delivery_note="DN-55012", posting_date=date(2026, 11, 23),
                                        lines=[line])
    again = gateway.post_goods_receipt(delivery_note="DN-55012", posting_date=date(2026, 11, 23),
                                       lines=[line])

    assert number and again == number
    [row] = mock_sap.control.odata("A_MaterialDocumentHeader", filter="ReferenceDocument eq 'DN-55012'",
                                   expand="to_MaterialDocumentItem",
                                   service="API_MATERIAL_DOCUMENT_SRV")
    [item] = row["to_MaterialDocumentItem"]["results"]
    assert (item["PurchaseOrder"], item["GoodsMovementType"], item["QuantityInEntryUnit"]) == (
        "4500000101", "101", "213.000")
