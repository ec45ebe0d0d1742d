"""The ``sap_s4`` destination: an accepted customer order becomes exactly one ERP sales order.

A partner profile names the ERP connection, the partner's sold-to party and how its item
numbers map to materials::

    destinations:
      - type: sap_s4
        document_types: [purchase_order]
        erp:
          connection: {base_url: "https://s4.example.com", auth: basic, username: CROSSDOCK,
                       password: "${SAP_PASSWORD}"}       # ${NAME}: read from the environment
          sold_to: "1000001"
          materials: {"WID-100": "TG11"}      # buyer item, vendor item or GTIN -> material

Exactly once rests on the gateway (``ensure_sales_order`` looks up by customer PO and
sold-to before it creates, and after a timeout looks again instead of writing twice) and
on one gateway per connection in this process, so a write still in doubt is remembered
between two attempts of the same job. Failures are ``canonical.errors`` classes, so the
hub's one classification table decides: busy/lock retry, authorization dead-letters,
an unknown material or blocked customer opens a case. A customer's change or cancel
(a later revision) changes that sales order's items, planned from what the ERP holds
(:mod:`hub.erp.changes`), so a change delivered twice changes once.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from canonical.documents import OrderPurpose, PurchaseOrder
from canonical.errors import ConfigurationError, PermanentError
from hub.erp.changes import apply_order_change
from hub.erp.gateways import gateway_for, valid_connection
from hub.erp.suppliers import SUPPLIER_DOCUMENTS, ErpSupplierTarget, post_supplier_document

__all__ = ["ErpTarget", "deliver_to_erp", "gateway_for", "line_materials"]

_T = TypeVar("_T", bound=BaseModel)


class ErpTarget(BaseModel):
    """What an ``sap_s4`` destination says about the ERP and this partner's place in it."""

    model_config = ConfigDict(extra="forbid")
    connection: dict[str, Any] = Field(
        description="The S/4HANA connection: the fields of the SAP S/4HANA gateway's configuration "
                    "(base_url, auth, username, password, timeout_seconds, ...)")
    sold_to: str = Field(min_length=1, max_length=10, description="The partner's sold-to party in the ERP")
    materials: dict[str, str] = Field(
        default_factory=dict,
        description="The partner's item numbers (buyer item, vendor item or GTIN) mapped to ERP materials")
    vendor_item_is_material: bool = Field(
        True, description="A line's vendor item (our own item number) is the ERP material when not mapped")
    sync_reference_data: bool = Field(
        False, description="Read the ERP's products and this sold-to party into reference data (every "
                           "CROSSDOCK_ERP_POLL_SECONDS); with an item master, orders are validated against it")

    _valid_connection = field_validator("connection")(valid_connection)


def line_materials(po: PurchaseOrder, target: ErpTarget) -> dict[str, str]:
    """PO line number -> material; lines without one are left out (the gateway names them)."""
    out: dict[str, str] = {}
    for line in po.lines:
        for ident in (line.buyer_item, line.vendor_item, line.gtin):
            if ident and ident in target.materials:
                out[line.line_number] = target.materials[ident]
                break
        else:
            if target.vendor_item_is_material and line.vendor_item:
                out[line.line_number] = line.vendor_item
    return out


def _target(model: type[_T], destination: dict[str, Any]) -> _T:
    try:
        return model.model_validate(destination.get("erp") or {})
    except ValidationError as exc:
        raise ConfigurationError(f"sap_s4 destination: {exc.errors()[0]['msg']}",
                                 code="config.destination") from None


def deliver_to_erp(destination: dict[str, Any], document: dict[str, Any]) -> str | None:
    """Ensure the order's sales order exists; returns its number (None: a cancel of nothing).

    A change or cancel is applied to that sales order's items (:mod:`hub.erp.changes`).

    A supplier's confirmation, ship notice or invoice is posted against our purchase order
    instead (:func:`hub.erp.suppliers.post_supplier_document`).

    Usage:
        number = deliver_to_erp({"type": "sap_s4", "erp": {...}}, canonical_order)
    """
    if document.get("document_type") in SUPPLIER_DOCUMENTS:
        return post_supplier_document(_target(ErpSupplierTarget, destination), document)
    target = _target(ErpTarget, destination)
    if document.get("document_type") != "purchase_order":
        raise PermanentError(f"an sap_s4 destination takes purchase orders, not {document.get('document_type')!r}",
                             code="erp.unsupported_document", details={"document_type": document.get("document_type")})
    po = PurchaseOrder.model_validate(document)
    gateway = gateway_for(target.connection)
    if po.purpose is not OrderPurpose.NEW:
        # A change or cancel changes the order the original created; it never creates a second one.
        return apply_order_change(gateway, po, sold_to=target.sold_to, materials=line_materials(po, target))
    return gateway.ensure_sales_order(po, sold_to=target.sold_to,
                                      materials=line_materials(po, target)).sales_order
