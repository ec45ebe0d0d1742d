"""UPS Track API (``GET /api/track/v1/details/{inquiryNumber}``) → canonical ShipmentStatus.

The API shape is UPS's published OpenAPI description of the Track API
(developer.ups.com/api/reference/tracking; github.com/UPS-API/api-documentation,
``Tracking.yaml``), authenticated with the OAuth client-credentials flow
(``/security/v1/oauth/token``, client id and secret as HTTP Basic).

Activity status ``type`` → canonical event code:

    M  manifest / billing information received  → label_created
    MV billing information voided               → cancelled
    P  pickup                                   → picked_up
    I  in transit ("Out For Delivery …" text)   → in_transit (out_for_delivery)
    D  delivered                                → delivered
    X  exception                                → exception
    RS returned to shipper                      → returned

A UPS outage (connection lost, timeout, 429/5xx still failing after the retries) is a
:class:`CarrierApiFailure` (``carrier.api_failure``, retryable) naming the partner, so the
pipeline can open the "carrier API failure" case and try again later.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from pydantic import Field, SecretStr

from canonical.common import Address
from canonical.documents import ShipmentEvent, ShipmentStatus
from canonical.errors import PermanentError, RetryableError
from connectors.base import ConnectorConfig
from connectors.transports.rest_poll.config import OAuth2ClientCredentials, RetrySettings
from connectors.transports.rest_poll.http import RestClient

__all__ = ["UPS_SCAC", "CarrierApiFailure", "UpsTrackConfig", "UpsTracker", "to_shipment_status"]

UPS_SCAC = "UPSN"
_TYPES = {"M": "label_created", "MV": "cancelled", "P": "picked_up", "I": "in_transit",
          "D": "delivered", "X": "exception", "RS": "returned"}


class CarrierApiFailure(RetryableError):
    """The carrier's API is down or failing; try later, and tell operations."""

    code = "carrier.api_failure"


class UpsTrackConfig(ConnectorConfig):
    """Usage: ``UpsTrackConfig(client_id="…", client_secret="…")`` (production by default)."""

    base_url: str = Field("https://onlinetools.ups.com", description="CIE: https://wwwcie.ups.com")
    client_id: str
    client_secret: SecretStr
    transaction_src: str = Field("crossdock", description="The `transactionSrc` header UPS requires")
    locale: str = "en_US"
    timeout_seconds: float = Field(20.0, gt=0)
    retry: RetrySettings = Field(default_factory=lambda: RetrySettings(max_attempts=3))


def _when(activity: dict[str, Any]) -> datetime:
    date, clock = activity.get("date") or "", (activity.get("time") or "").zfill(6)
    offset = activity.get("gmtOffset")
    if date and offset and len(offset) == 6:
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
        return datetime.strptime(date + clock, "%Y%m%d%H%M%S").replace(tzinfo=tz)
    if activity.get("gmtDate"):
        gmt = activity["gmtDate"] + (activity.get("gmtTime") or "").zfill(6)
        return datetime.strptime(gmt, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return datetime.strptime(date + clock, "%Y%m%d%H%M%S").replace(tzinfo=UTC)  # no zone given


def _location(activity: dict[str, Any]) -> Address | None:
    address = (activity.get("location") or {}).get("address") or {}
    if not any(address.get(k) for k in ("city", "postalCode", "country")):
        return None
    country = address.get("countryCode") or address.get("country")
    lines = [address[k] for k in ("addressLine1", "addressLine2", "addressLine3") if address.get(k)]
    return Address(lines=lines, city=address.get("city") or None, region=address.get("stateProvince") or None,
                   postal_code=address.get("postalCode") or None,
                   country=country if isinstance(country, str) and len(country) == 2 else None)


def _event(activity: dict[str, Any]) -> ShipmentEvent:
    status = activity.get("status") or {}
    kind, description = status.get("type") or "", status.get("description") or ""
    code = _TYPES.get(kind, "in_transit")
    if code == "in_transit" and "out for delivery" in description.lower():
        code = "out_for_delivery"
    return ShipmentEvent(code=code, carrier_code="/".join(filter(None, (kind, status.get("code")))) or None,
                         description=description or None, occurred_at=_when(activity),
                         location=_location(activity))


def to_shipment_status(payload: dict[str, Any]) -> list[ShipmentStatus]:
    """One ShipmentStatus per tracked package in a Track API response (pure).

    Usage:
        statuses = to_shipment_status(response.json())
    """
    out: list[ShipmentStatus] = []
    for shipment in (payload.get("trackResponse") or {}).get("shipment") or []:
        for package in shipment.get("package") or []:
            events = [_event(a) for a in package.get("activity") or []]
            number = package.get("trackingNumber") or shipment.get("inquiryNumber")
            if events and number:
                out.append(ShipmentStatus(carrier_scac=UPS_SCAC, tracking_number=number,
                                          events=sorted(events, key=lambda e: e.occurred_at)))
    return out


class UpsTracker:
    """Fetch tracking from UPS with token caching, retries and failure classification.

    Usage:
        tracker = UpsTracker(partner_id="UPS", config=UpsTrackConfig(client_id=..., client_secret=...))
        raw = tracker.fetch("1Z023E2X0214323462")        # bytes for the inbox, raw first
        statuses = to_shipment_status(json.loads(raw))
    """

    def __init__(self, *, partner_id: str, config: UpsTrackConfig,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.partner_id = partner_id
        self.config = config
        auth = OAuth2ClientCredentials(token_url=config.base_url.rstrip("/") + "/security/v1/oauth/token",
                                       client_id=config.client_id, client_secret=config.client_secret)
        self.client = RestClient(auth=auth, retry=config.retry, partner_id=partner_id,
                                 timeout_seconds=config.timeout_seconds, transport=transport, sleep=sleep)

    def fetch(self, tracking_number: str) -> bytes:
        url = f"{self.config.base_url.rstrip('/')}/api/track/v1/details/{tracking_number}"
        headers = {"transId": uuid.uuid4().hex[:32], "transactionSrc": self.config.transaction_src}
        try:
            response = self.client.get(url, {"locale": self.config.locale}, headers=headers)
        except RetryableError as exc:
            raise CarrierApiFailure(
                f"UPS tracking is unavailable: {exc.message}", retry_after=exc.retry_after,
                partner=self.partner_id, document=tracking_number,
                details={**exc.details, "carrier": UPS_SCAC, "tracking_number": tracking_number},
            ) from exc
        except PermanentError as exc:
            exc.details.setdefault("tracking_number", tracking_number)
            raise
        return response.content

    def close(self) -> None:
        self.client.close()
