"""Change a sales order's items with BAPI_SALESORDER_CHANGE, called as a SOAP web service.

Only what the X structures flag is changed: each item of ``ORDER_ITEM_IN`` has a twin in
``ORDER_ITEM_INX`` with its ``UPDATEFLAG`` (``U`` update, ``I`` insert, ``D`` delete) and an
``X`` on every field to take. A cancelled item gets a reason for rejection (``REASON_REJ``),
or is deleted when the connection says ``item_cancellation: delete``.

A BAPI reports a business refusal with HTTP 200 and an ``E`` or ``A`` row in its ``RETURN``
table: that is raised as ``BusinessException`` (``erp.rejected.change_refused``, or the
specific code when the text names one, e.g. a credit limit), never retried. Transport
failures come from the session and are classified by :mod:`sap_errors` like any other.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from connectors.erp.models import SalesOrderItemChange
from connectors.erp.sap_errors import BUSINESS_RULES, business_exception
from connectors.erp.sap_http import SapSession

__all__ = ["FUNCTION", "change_envelope", "change_items", "return_rows"]

FUNCTION = "BapiSalesorderChange"  # BAPI_SALESORDER_CHANGE in the mc-style SOAP spelling
_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
_NS = "urn:sap-com:document:sap:soap:functions:mc-style"


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _item(change: SalesOrderItemChange, *, cancellation: str, reason: str
          ) -> tuple[dict[str, str], dict[str, str]]:
    """One ``ORDER_ITEM_IN`` row and its ``ORDER_ITEM_INX`` flags."""
    row = {"ItmNumber": change.item}
    flags = {"ItmNumber": change.item}
    if change.action == "cancel":
        if cancellation == "delete":
            return row, {**flags, "Updateflag": "D"}
        return {**row, "ReasonRej": reason}, {**flags, "Updateflag": "U", "ReasonRej": "X"}
    values = {"Material": change.material if change.action == "insert" else "",
              "TargetQty": _text(change.quantity) if change.quantity is not None else "",
              "SalesUnit": change.unit if change.action == "insert" else "",
              "ShortText": change.text[:40] if change.action == "insert" else "",
              "CustMat35": change.material_by_customer[:35] if change.action == "insert" else "",
              "CondValue": _text(change.net_amount) if change.net_amount is not None else ""}
    values = {k: v for k, v in values.items() if v}
    return ({**row, **values},
            {**flags, "Updateflag": "I" if change.action == "insert" else "U", **dict.fromkeys(values, "X")})


def _add(parent: ET.Element, name: str, value: Any) -> None:
    node = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, inner in value.items():
            _add(node, key, inner)
    elif isinstance(value, list):
        for inner in value:
            _add(node, "item", inner)
    else:
        node.text = str(value)


def change_envelope(sales_order: str, changes: Sequence[SalesOrderItemChange], *,
                    cancellation: str = "reject", rejection_reason: str = "10") -> bytes:
    """The SOAP request: header flagged for update only, one item row (and X row) per change."""
    rows = [_item(c, cancellation=cancellation, reason=rejection_reason) for c in changes]
    envelope = ET.Element(f"{{{_SOAP}}}Envelope")
    ET.SubElement(envelope, f"{{{_SOAP}}}Header")
    call = ET.SubElement(ET.SubElement(envelope, f"{{{_SOAP}}}Body"), f"{{{_NS}}}{FUNCTION}")
    for name, value in (("Salesdocument", sales_order), ("OrderHeaderInx", {"Updateflag": "U"}),
                        ("OrderItemIn", [r for r, _ in rows]), ("OrderItemInx", [x for _, x in rows]),
                        ("Return", [])):
        _add(call, name, value)
    return bytes(ET.tostring(envelope, encoding="utf-8", xml_declaration=True))


def _norm(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].replace("_", "").upper()


def return_rows(body: bytes) -> list[dict[str, str]]:
    """The ``RETURN`` table of a BAPI's SOAP answer, as rows keyed by ABAP field name."""
    root = ET.fromstring(body)
    for node in root.iter():
        if _norm(node.tag) == "RETURN":
            return [{_norm(f.tag): (f.text or "").strip() for f in item} for item in node]
    return []


def change_items(session: SapSession, sales_order: str, changes: Sequence[SalesOrderItemChange]
                 ) -> list[dict[str, str]]:
    """Send the change; returns the ``RETURN`` rows, raises ``BusinessException`` on E / A."""
    cfg = session.config
    xml = change_envelope(sales_order, changes, cancellation=cfg.item_cancellation,
                          rejection_reason=cfg.rejection_reason)
    response = session.request("POST", cfg.sales_order_change_path, content=xml,
                               headers={"Content-Type": "text/xml; charset=utf-8",
                                        "SOAPAction": f"{_NS}:{FUNCTION}", "Accept": "text/xml"})
    rows = return_rows(response.content)
    errors = [r for r in rows if r.get("TYPE") in ("E", "A")]
    if errors:
        text = "; ".join(r.get("MESSAGE", "") for r in errors)
        code = next((c for pattern, c, _ in BUSINESS_RULES if pattern.search(text)), "erp.rejected.change_refused")
        raise business_exception(
            code, f"SAP refused the change of sales order {sales_order}: {text}",
            details={"sales_order": sales_order, "return": rows,
                     "changes": [c.model_dump(mode="json") for c in changes]})
    return rows
