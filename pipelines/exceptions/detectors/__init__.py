"""Detectors: small pure functions ``(document, context) -> list[Detection]``.

``detect_all`` runs the ones that apply to the document's type, in a fixed order; the
time-based detectors in ``scheduled`` are called by the scheduler instead.

Usage:
    detections = detect_all(purchase_order, DetectionContext(refdata, history, rules, today))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from canonical.documents import Invoice, OrderAcknowledgment, PurchaseOrder, ShipNotice
from pipelines.exceptions.detectors.acks import (
    detect_ack_changed,
    detect_ack_price,
    detect_ack_unknown_order,
)
from pipelines.exceptions.detectors.asn import detect_asn_variance
from pipelines.exceptions.detectors.invoices import (
    detect_duplicate_invoice,
    detect_invoice_match,
    detect_invoice_totals,
)
from pipelines.exceptions.detectors.orders import (
    detect_credit_hold,
    detect_duplicate_order,
    detect_inventory,
    detect_order_price,
    order_fingerprint,
)
from pipelines.exceptions.detectors.scheduled import (
    CarrierFailure,
    Expectation,
    FlowWindow,
    OpenShipment,
    OpenTransfer,
    WaitingRevision,
    detect_carrier_failure,
    detect_flow_anomalies,
    detect_overdue_documents,
    detect_uninvoiced_shipments,
    detect_unreceived_transfers,
    detect_waiting_revisions,
)

if TYPE_CHECKING:
    from canonical.documents import CanonicalDocument
    from pipelines.exceptions.model import Detection, DetectionContext

__all__ = [
    "DETECTORS",
    "CarrierFailure",
    "Expectation",
    "FlowWindow",
    "OpenShipment",
    "OpenTransfer",
    "WaitingRevision",
    "detect_ack_changed",
    "detect_ack_price",
    "detect_ack_unknown_order",
    "detect_all",
    "detect_asn_variance",
    "detect_carrier_failure",
    "detect_credit_hold",
    "detect_duplicate_invoice",
    "detect_duplicate_order",
    "detect_flow_anomalies",
    "detect_inventory",
    "detect_invoice_match",
    "detect_invoice_totals",
    "detect_order_price",
    "detect_overdue_documents",
    "detect_uninvoiced_shipments",
    "detect_unreceived_transfers",
    "detect_waiting_revisions",
    "order_fingerprint",
]

Detector = Callable[[Any, "DetectionContext"], "list[Detection]"]

DETECTORS: dict[type[Any], Sequence[Detector]] = {
    PurchaseOrder: (detect_duplicate_order, detect_credit_hold, detect_order_price, detect_inventory),
    OrderAcknowledgment: (detect_ack_unknown_order, detect_ack_changed, detect_ack_price),
    ShipNotice: (detect_asn_variance,),
    Invoice: (detect_duplicate_invoice, detect_invoice_totals, detect_invoice_match),
}


def detect_all(document: CanonicalDocument, context: DetectionContext) -> list[Detection]:
    """Every detection the document's type's detectors find, in ``DETECTORS`` order.

    Usage:
        >>> from pipelines.exceptions.detectors import DETECTORS
        >>> [d.__name__ for d in DETECTORS[ShipNotice]]
        ['detect_asn_variance']
    """
    detectors = DETECTORS.get(type(document), ())
    return [d for detector in detectors for d in detector(document, context)]
