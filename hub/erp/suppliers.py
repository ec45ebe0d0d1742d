"""A supplier in the ERP: our purchase orders go to it, its replies are posted against them.

A supplier's profile names the ERP connection, the supplier's number in the ERP and how
our materials are called in its catalogue::

    destinations:
      - type: sap_s4
        document_types: [order_acknowledgment, ship_notice, invoice]
        erp:
          connection: {base_url: "https://s4.example.com", auth: basic, ...}
          supplier: "1000012"
          items: {"TG11": "WIDGET-001"}        # ERP material -> the supplier's item number

What the supplier sends back is relayed by the outbox like any accepted document and
posted once against the ERP purchase order it names:

* 855 / ORDRSP -> an ``ORDRSP`` IDoc (the ERP replaces a PO item's confirmation with the
  latest one, so a confirmation posted again changes nothing); the IDoc number is kept
* 856 / DESADV -> a goods receipt (movement 101) with the ship notice's id as delivery note,
  looked up by that note before it is posted; the material document is kept
* 810 / INVOIC -> a supplier invoice with an item per purchase order item, looked up by the
  supplier's invoice number before it is posted; the ERP's invoice number is kept

A reply line names its PO item by line number (the 850 numbered lines as the ERP numbers
items: 10, 20 ...) or, failing that, by item number. A purchase order the ERP does not hold
for this supplier, or a line no item answers, is a business exception: a case, not a retry.

Usage:
    number = post_supplier_document(target, canonical_ship_notice)   # "5000000017"
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from canonical.documents import Invoice, OrderAcknowledgment, ShipNotice
from canonical.errors import BusinessException
from connectors.erp import (
    ErpGateway,
    ErpPurchaseOrder,
    ErpPurchaseOrderItem,
    GoodsReceiptLine,
    SupplierInvoiceItem,
)
from hub.erp.gateways import gateway_for, valid_connection
from hub.storage.tables import Partner

__all__ = ["SUPPLIER_DOCUMENTS", "ErpSupplierTarget", "po_item_number", "post_supplier_document",
           "supplier_targets"]

SUPPLIER_DOCUMENTS = ("order_acknowledgment", "ship_notice", "invoice")


class ErpSupplierTarget(BaseModel):
    """What a supplier's ``sap_s4`` destination says about the ERP and the supplier's place in it."""

    model_config = ConfigDict(extra="forbid")
    connection: dict[str, Any] = Field(
        description="The S/4HANA connection: the fields of the SAP S/4HANA gateway's configuration")
    supplier: str = Field(min_length=1, max_length=10, description="The supplier's number in the ERP")
    items: dict[str, str] = Field(
        default_factory=dict, description="ERP materials mapped to the supplier's item numbers")
    send_purchase_orders: bool = Field(
        True, description="Send the ERP's purchase orders for this supplier as 850 / ORDERS "
                          "(read every CROSSDOCK_ERP_POLL_SECONDS)")
    purchase_orders_created_from: datetime | None = Field(
        None, description="Send purchase orders created from this moment on; when unset, from the "
                          "first time Crossdock reads them (older orders are not sent)")
    buyer_name: str | None = Field(None, description="Our name on the purchase orders")

    _valid_connection = field_validator("connection")(valid_connection)


def supplier_targets(s: Session) -> list[tuple[str, ErpSupplierTarget]]:
    """(partner id, target) for every active partner with a supplier ``sap_s4`` destination."""
    out = []
    for partner in s.scalars(select(Partner).where(Partner.active.is_(True)).order_by(Partner.id)):
        for dest in (partner.profile or {}).get("destinations") or []:
            if dest.get("type") == "sap_s4" and "supplier" in (dest.get("erp") or {}):
                out.append((partner.id, ErpSupplierTarget.model_validate(dest["erp"])))
    return out


def po_item_number(line_number: str | None) -> str | None:
    """``"10"`` -> ``"00010"``: an 850 line number as the ERP's purchase order item."""
    return line_number.strip().zfill(5) if line_number and line_number.strip().isdigit() else None


def _item(po: ErpPurchaseOrder, target: ErpSupplierTarget, line_number: str | None,
          ids: tuple[str | None, ...]) -> ErpPurchaseOrderItem:
    number = po_item_number(line_number)
    found = next((i for i in po.items if number and i.item.zfill(5) == number), None)
    if found is None:
        named = {i for i in ids if i}
        named |= {material for material, theirs in target.items.items() if theirs in named}
        found = next((i for i in po.items if i.material in named), None)
    if found is None:
        raise BusinessException(
            f"purchase order {po.purchase_order} has no item for line {line_number or '?'} "
            f"({', '.join(i for i in ids if i) or 'no item number'})",
            code="erp.rejected.unknown_po_item", severity="high",
            details={"purchase_order": po.purchase_order, "line": line_number, "items": [i for i in ids if i]})
    return found


def _purchase_order(gateway: ErpGateway, target: ErpSupplierTarget, number: str) -> ErpPurchaseOrder:
    found = gateway.read_purchase_orders(supplier=target.supplier, numbers=[number])
    if not found:
        raise BusinessException(
            f"the ERP holds no purchase order {number} with supplier {target.supplier}",
            code="erp.rejected.unknown_purchase_order", severity="high",
            details={"purchase_order": number, "supplier": target.supplier})
    return found[0]


def _ids(line: Any) -> tuple[str | None, ...]:
    return (line.vendor_item, line.buyer_item, line.gtin)


def post_supplier_document(target: ErpSupplierTarget, document: dict[str, Any]) -> str:
    """Post a supplier's 855, 856 or 810 against our purchase order; returns the ERP's number."""
    gateway = gateway_for(target.connection)
    kind = document.get("document_type")
    if kind == "order_acknowledgment":
        ack = OrderAcknowledgment.model_validate(document)
        po = _purchase_order(gateway, target, ack.po_number)
        for confirmed in ack.lines:
            _item(po, target, confirmed.line_number, _ids(confirmed))
        return gateway.post_order_confirmation(ack, purchase_order=po.purchase_order,
                                               supplier=target.supplier).docnum
    if kind == "ship_notice":
        notice = ShipNotice.model_validate(document)
        lines: list[GoodsReceiptLine] = []
        for order in notice.orders:
            po = _purchase_order(gateway, target, order.po_number)
            for pack in order.packs:
                for shipped in pack.items:
                    item = _item(po, target, shipped.line_number, _ids(shipped))
                    lines.append(GoodsReceiptLine(
                        purchase_order=po.purchase_order, purchase_order_item=item.item, material=item.material,
                        plant=item.plant, quantity=shipped.quantity, unit=item.unit))
        return gateway.post_goods_receipt(delivery_note=notice.shipment_id, posting_date=notice.ship_date,
                                          lines=lines)
    invoice = Invoice.model_validate(document)
    if invoice.po_number is None:
        raise BusinessException(f"invoice {invoice.invoice_number} names no purchase order",
                                code="erp.rejected.unknown_purchase_order", severity="high",
                                details={"invoice": invoice.invoice_number})
    po = _purchase_order(gateway, target, invoice.po_number)
    billed = []
    for line in invoice.lines:
        item = _item(po, target, line.po_line_number or line.line_number, _ids(line))
        billed.append(SupplierInvoiceItem(purchase_order=po.purchase_order, purchase_order_item=item.item,
                                          quantity=line.quantity, unit=item.unit, amount=line.billed_amount()))
    return gateway.post_supplier_invoice(invoice, supplier=target.supplier, items=billed)
