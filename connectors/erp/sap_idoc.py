"""IDocs we send to S/4HANA as XML over HTTP: DELVRY07 (delivery) and ORDRSP (ORDERS05).

The HTTP answer only says the IDoc was *received*; whether it *posted* is its status
(53 posted, 51 not). A 51 is raised as ``BusinessException`` (``erp.rejected.idoc_not_posted``)
with the status text, because nothing happened in the ERP and retrying will not change that.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from canonical.documents import AckLineStatus, OrderAcknowledgment
from connectors.erp.models import DeliveryLine, IdocReceipt
from connectors.erp.sap_config import SapS4Config
from connectors.erp.sap_errors import business_exception
from connectors.erp.sap_http import SapSession

__all__ = ["delvry07_xml", "ordrsp_xml", "post_idoc"]


def _seg(parent: ET.Element, name: str, fields: Mapping[str, str]) -> ET.Element:
    seg = ET.SubElement(parent, name, SEGMENT="1")
    for key, value in fields.items():
        if value not in (None, ""):
            ET.SubElement(seg, key).text = str(value)
    return seg


def _control(idoc: ET.Element, config: SapS4Config, idoctyp: str, mestyp: str) -> None:
    now = datetime.now(UTC)
    _seg(idoc, "EDI_DC40", {
        "TABNAM": "EDI_DC40", "DIRECT": "2", "IDOCTYP": idoctyp, "MESTYP": mestyp,
        "SNDPOR": config.idoc_sender_port, "SNDPRT": "LS", "SNDPRN": config.idoc_sender_partner,
        "RCVPRT": "LS", "CREDAT": now.strftime("%Y%m%d"), "CRETIM": now.strftime("%H%M%S")})


def _qty(value: Any) -> str:
    return format(value, "f")


def delvry07_xml(config: SapS4Config, *, delivery_id: str, ship_date: date,
                 lines: Sequence[DeliveryLine]) -> bytes:
    """A DELVRY07 whose items name the sales order item they deliver (VGBEL/VGPOS)."""
    root = ET.Element("DELVRY07")
    idoc = ET.SubElement(root, "IDOC", BEGIN="1")
    _control(idoc, config, "DELVRY07", "DELVRY")
    header = _seg(idoc, "E1EDL20", {"LIFEX": delivery_id[:35], "BOLNR": delivery_id[:35],
                                    "VKORG": config.sales_organization})
    _seg(header, "E1EDT13", {"QUALF": "006", "NTANF": ship_date.strftime("%Y%m%d")})
    for number, line in enumerate(lines, start=1):
        _seg(header, "E1EDL24", {
            "POSNR": str(number * 10).zfill(6), "MATNR": line.material,
            "LFIMG": _qty(line.quantity), "VRKME": line.unit, "LGMNG": _qty(line.quantity),
            "MEINS": line.unit, "VGBEL": line.sales_order, "VGPOS": line.sales_order_item})
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


_ACTION = {AckLineStatus.ACCEPTED: "001", AckLineStatus.CHANGED: "002",
           AckLineStatus.BACKORDERED: "002", AckLineStatus.REJECTED: "003"}


def ordrsp_xml(config: SapS4Config, ack: OrderAcknowledgment, *, purchase_order: str,
               supplier: str) -> bytes:
    """An ORDERS05 with message type ORDRSP: the supplier's confirmation of our PO."""
    root = ET.Element("ORDERS05")
    idoc = ET.SubElement(root, "IDOC", BEGIN="1")
    _control(idoc, config, "ORDERS05", "ORDRSP")
    _seg(idoc, "E1EDK01", {"ACTION": "000" if ack.status == "accepted" else "001",
                           "CURCY": ack.currency, "BELNR": ack.ack_number or purchase_order})
    _seg(idoc, "E1EDK02", {"QUALF": "001", "BELNR": purchase_order})
    _seg(idoc, "E1EDK03", {"IDDAT": "012", "DATUM": ack.ack_date.strftime("%Y%m%d")})
    _seg(idoc, "E1EDKA1", {"PARVW": "LF", "PARTN": supplier})
    for line in ack.lines:
        item = _seg(idoc, "E1EDP01", {
            "POSEX": line.line_number, "ACTION": _ACTION[line.status],
            "MENGE": _qty(line.quantity), "MENEE": line.uom,
            "VPREI": _qty(line.unit_price) if line.unit_price is not None else ""})
        if line.scheduled_date:
            _seg(item, "E1EDP20", {"WMENG": _qty(line.quantity),
                                   "EDATU": line.scheduled_date.strftime("%Y%m%d")})
        if line.vendor_item or line.buyer_item:
            _seg(item, "E1EDP19", {"QUALF": "002" if line.vendor_item else "001",
                                   "IDTNR": line.vendor_item or line.buyer_item or ""})
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def post_idoc(session: SapSession, xml: bytes, *, evidence: Mapping[str, Any]) -> IdocReceipt:
    """POST an IDoc; return its receipt if it posted (53), raise if it did not (51 ...)."""
    response = session.request(
        "POST", session.config.idoc_path, content=xml,
        headers={"Content-Type": "application/xml", "Accept": "application/json"})
    body = response.json()
    receipt = IdocReceipt(
        docnum=str(body.get("DOCNUM", "")), message_type=str(body.get("MESTYP", "")),
        status=str(body.get("STATUS", "")), status_text=str(body.get("STATUS_TEXT", "")),
        applied=[a for a in body.get("APPLIED") or [] if isinstance(a, dict)])
    if not receipt.posted:
        raise business_exception(
            "erp.rejected.idoc_not_posted",
            f"IDoc {receipt.docnum} ({receipt.message_type}) not posted, status "
            f"{receipt.status}: {receipt.status_text}",
            details={**evidence, "docnum": receipt.docnum, "status": receipt.status,
                     "status_text": receipt.status_text, "applied": receipt.applied})
    return receipt
