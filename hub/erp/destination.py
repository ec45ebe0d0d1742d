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
an unknown material or blocked customer opens a case.
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from canonical.documents import OrderPurpose, PurchaseOrder
from canonical.errors import ConfigurationError, PermanentError
from connectors.erp import SapS4Config, SapS4Gateway

__all__ = ["ErpTarget", "deliver_to_erp", "gateway_for", "line_materials"]

_gateways: dict[str, SapS4Gateway] = {}
_lock = threading.Lock()
_ENV = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def _resolve(connection: dict[str, Any]) -> dict[str, Any]:
    """``"${NAME}"`` values come from the environment, so secrets stay out of profiles and job rows."""
    out = dict(connection)
    for key, value in connection.items():
        found = _ENV.match(value) if isinstance(value, str) else None
        if found:
            if found.group(1) not in os.environ:
                raise ConfigurationError(f"ERP connection: {key} refers to ${{{found.group(1)}}}, which is not set",
                                         code="config.destination")
            out[key] = os.environ[found.group(1)]
    return out


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

    @field_validator("connection")
    @classmethod
    def _valid_connection(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            SapS4Config.model_validate(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"connection{'.' + where if where else ''}: {first['msg']}") from None
        return value


def gateway_for(connection: dict[str, Any]) -> SapS4Gateway:
    """The one gateway of this process for a connection (it remembers writes in doubt)."""
    key = json.dumps(connection, sort_keys=True, default=str)
    with _lock:
        gateway = _gateways.get(key)
        if gateway is None:
            gateway = _gateways[key] = SapS4Gateway(SapS4Config.model_validate(_resolve(connection)))
        return gateway


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


def deliver_to_erp(destination: dict[str, Any], document: dict[str, Any]) -> str | None:
    """Ensure the order's sales order exists; returns its number (None: a cancel of nothing).

    Usage:
        number = deliver_to_erp({"type": "sap_s4", "erp": {...}}, canonical_order)
    """
    try:
        target = ErpTarget.model_validate(destination.get("erp") or {})
    except ValidationError as exc:
        raise ConfigurationError(f"sap_s4 destination: {exc.errors()[0]['msg']}",
                                 code="config.destination") from None
    if document.get("document_type") != "purchase_order":
        raise PermanentError(f"an sap_s4 destination takes purchase orders, not {document.get('document_type')!r}",
                             code="erp.unsupported_document", details={"document_type": document.get("document_type")})
    po = PurchaseOrder.model_validate(document)
    gateway = gateway_for(target.connection)
    if po.purpose is not OrderPurpose.NEW:
        # A change or cancel refers to the order the original created; it never creates a second one.
        existing = gateway.find_sales_order(customer_po=po.po_number, sold_to=target.sold_to)
        if existing is not None or po.purpose is OrderPurpose.CANCEL:
            return existing
    return gateway.ensure_sales_order(po, sold_to=target.sold_to,
                                      materials=line_materials(po, target)).sales_order
