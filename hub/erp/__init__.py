"""ERP write-back: the ``sap_s4`` destination that the outbox relays accepted documents to.

Usage:
    >>> from hub.erp import ErpTarget
    >>> ErpTarget.model_validate({"connection": {"base_url": "http://127.0.0.1:8000", "auth": "none"},
    ...                           "sold_to": "1000001"}).sold_to
    '1000001'
"""

from __future__ import annotations

from hub.erp.destination import ErpTarget, deliver_to_erp, gateway_for, line_materials
from hub.erp.suppliers import ErpSupplierTarget, post_supplier_document

__all__ = ["ErpSupplierTarget", "ErpTarget", "deliver_to_erp", "gateway_for", "line_materials",
           "post_supplier_document"]
