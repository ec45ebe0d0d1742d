"""Reconciliation: compare what the hub accepted with what the ERP holds (pure logic).

The hub's runner (``hub.reconcile``) gathers plain records from its documents and from the
ERP gateway and hands them here; what comes back is a :class:`Report` whose mismatches the
runner turns into cases.

Usage:
    >>> report = reconcile_sales_orders([], [], sold_to_parties={"1000001"})
    >>> (report.checked, report.mismatched)
    (0, 0)
"""

from __future__ import annotations

from pipelines.reconcile.checks import (
    reconcile_billing,
    reconcile_sales_orders,
    reconcile_supplier_postings,
)
from pipelines.reconcile.partners import lines_amount, reconcile_partner_documents
from pipelines.reconcile.records import (
    KINDS,
    ErpDelivery,
    ErpOrder,
    ErpPartnerDocument,
    ErpPosting,
    HubOrder,
    Mismatch,
    Report,
    SentEdi,
    SupplierDocument,
)

__all__ = [
    "KINDS",
    "ErpDelivery",
    "ErpOrder",
    "ErpPartnerDocument",
    "ErpPosting",
    "HubOrder",
    "Mismatch",
    "Report",
    "SentEdi",
    "SupplierDocument",
    "lines_amount",
    "reconcile_billing",
    "reconcile_partner_documents",
    "reconcile_sales_orders",
    "reconcile_supplier_postings",
]
