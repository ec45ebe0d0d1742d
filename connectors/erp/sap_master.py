"""Master data: products (API_PRODUCT_SRV) and business partners (API_BUSINESS_PARTNER_SRV)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.erp.models import BusinessPartner, DeltaPage, Product
from connectors.erp.sap_http import SapSession
from connectors.erp.sap_odata import delta_read

__all__ = ["parse_business_partner", "parse_product", "read_business_partners", "read_products"]


def parse_product(row: Mapping[str, Any]) -> Product:
    return Product(product=str(row["Product"]), product_type=str(row.get("ProductType") or ""),
                   product_group=str(row.get("ProductGroup") or ""),
                   base_unit=str(row.get("BaseUnit") or ""),
                   marked_for_deletion=bool(row.get("IsMarkedForDeletion")))


def parse_business_partner(row: Mapping[str, Any]) -> BusinessPartner:
    return BusinessPartner(
        business_partner=str(row["BusinessPartner"]),
        name=str(row.get("BusinessPartnerFullName") or row.get("BusinessPartnerName") or ""),
        customer=str(row.get("Customer") or ""), supplier=str(row.get("Supplier") or ""),
        category=str(row.get("BusinessPartnerCategory") or ""),
        blocked=bool(row.get("BusinessPartnerIsBlocked")))


def read_products(session: SapSession, *, since: str | None) -> DeltaPage[Product]:
    return delta_read(session, "API_PRODUCT_SRV", "A_Product", parse_product, since=since)


def read_business_partners(session: SapSession, *, since: str | None) -> DeltaPage[BusinessPartner]:
    return delta_read(session, "API_BUSINESS_PARTNER_SRV", "A_BusinessPartner",
                      parse_business_partner, since=since)
