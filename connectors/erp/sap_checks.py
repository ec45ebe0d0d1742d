"""Checks before a sales order is created: is the sold-to a usable customer, do the materials exist?

S/4HANA refuses such an order with a message; some systems (and mock-sap) accept it and
only warn. Checking first makes "unknown material" a business exception that names the
line and the customer, before any document exists that someone would have to reject.
"""

from __future__ import annotations

from collections.abc import Mapping

from canonical.documents import PurchaseOrder
from connectors.erp.sap_batch import batch_get
from connectors.erp.sap_errors import business_exception
from connectors.erp.sap_http import SapSession
from connectors.erp.sap_odata import quote

__all__ = ["check_order_parties"]


def check_order_parties(session: SapSession, po: PurchaseOrder, *, sold_to: str,
                        materials: Mapping[str, str]) -> None:
    """Raise ``BusinessException`` (erp.rejected.*) if the customer or a material is unusable.

    Two round trips: the business partner, and every distinct material in one ``$batch``.
    """
    evidence = {"customer_po": po.po_number, "sold_to": sold_to}
    path = session.service_path("API_BUSINESS_PARTNER_SRV", f"A_BusinessPartner({quote(sold_to)})")
    response = session.request("GET", path, ok=(404,), params={"$format": "json"})
    partner = response.json().get("d", {}) if response.status_code != 404 else {}
    if not partner or not partner.get("Customer"):
        raise business_exception("erp.rejected.unknown_customer",
                                 f"Sold-to party {sold_to} is not a customer in the ERP",
                                 details=evidence)
    if partner.get("BusinessPartnerIsBlocked"):
        raise business_exception("erp.rejected.blocked_customer",
                                 f"Sold-to party {sold_to} is blocked centrally",
                                 details=evidence)
    wanted = sorted({materials[ln.line_number] for ln in po.lines})
    parts = batch_get(session, "API_PRODUCT_SRV", [f"A_Product({quote(m)})" for m in wanted])
    found = {m: p.data for m, p in zip(wanted, parts, strict=True) if p.data}
    for line in po.lines:
        material = materials[line.line_number]
        product = found.get(material)
        item = {**evidence, "line_number": line.line_number, "material": material,
                "buyer_item": line.buyer_item, "vendor_item": line.vendor_item}
        if product is None:
            raise business_exception(
                "erp.rejected.unknown_material",
                f"PO {po.po_number} line {line.line_number}: material {material} does not exist",
                details=item)
        if product.get("IsMarkedForDeletion"):
            raise business_exception(
                "erp.rejected.material_deleted",
                f"PO {po.po_number} line {line.line_number}: material {material} is flagged for deletion",
                details=item)
