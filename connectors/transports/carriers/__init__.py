"""Carrier tracking APIs mapped to canonical ShipmentStatus (one module per carrier)."""

from __future__ import annotations

from connectors.transports.carriers.ups import (
    UPS_SCAC,
    CarrierApiFailure,
    UpsTrackConfig,
    UpsTracker,
    to_shipment_status,
)

__all__ = ["UPS_SCAC", "CarrierApiFailure", "UpsTrackConfig", "UpsTracker", "to_shipment_status"]
