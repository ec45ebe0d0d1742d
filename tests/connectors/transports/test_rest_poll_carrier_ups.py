"""UPS tracking: a vcrpy cassette written from UPS's documentation, and an outage on a local server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import vcr

from canonical.errors import PermanentError
from connectors.transports.carriers.ups import (
    CarrierApiFailure,
    UpsTrackConfig,
    UpsTracker,
    to_shipment_status,
)
from connectors.transports.rest_poll import RetrySettings

CASSETTES = Path(__file__).parent / "cassettes"
recorder = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none",
                   match_on=["method", "scheme", "host", "port", "path", "query"])


def _tracker(base_url: str = "https://wwwcie.ups.com", **retry: Any) -> UpsTracker:
    config = UpsTrackConfig(base_url=base_url, client_id="crossdock-test-client", client_secret="s3cret",
                            retry=RetrySettings(**{"max_attempts": 3, "backoff_seconds": 0.01, **retry}))
    return UpsTracker(partner_id="UPS", config=config)


def test_track_response_maps_to_shipment_status() -> None:
    tracker = _tracker()
    sent: list[Any] = []
    tracker.client.http.event_hooks["request"].append(sent.append)
    with recorder.use_cassette("ups_track.yaml") as cassette:
        raw = tracker.fetch("1Z023E2X0214323462")
        assert cassette.play_count == 2  # token, then tracking
        token_request, track_request = sent
        assert token_request.headers["Authorization"].startswith("Basic ")
        assert track_request.headers["Authorization"] == "Bearer eyJraWQiOiJ0ZXN0LXRva2VuIn0.example.signature"
        assert track_request.headers["transactionSrc"] == "crossdock" and track_request.headers["transId"]

    (status,) = to_shipment_status(json.loads(raw))
    assert status.carrier_scac == "UPSN" and status.tracking_number == "1Z023E2X0214323462"
    assert [e.code for e in status.events] == [
        "label_created", "picked_up", "exception", "out_for_delivery", "delivered"]
    delivered = status.latest
    assert delivered.code == "delivered" and delivered.carrier_code == "D/FS"
    assert delivered.occurred_at == datetime(2021, 2, 12, 19, 30, 12, tzinfo=UTC)
    assert delivered.location is not None
    assert (delivered.location.city, delivered.location.region, delivered.location.postal_code,
            delivered.location.country) == ("Wayne", "NJ", "07470", "US")
    customs = status.events[2]
    assert customs.description == "Your package was released by the customs agency."
    assert status.idempotency_key == to_shipment_status(json.loads(raw))[0].idempotency_key


def test_unknown_tracking_number_is_permanent() -> None:
    tracker = _tracker()
    with recorder.use_cassette("ups_track.yaml"), pytest.raises(PermanentError) as caught:
        tracker.fetch("1Z999AA10123456784")
    assert caught.value.code == "rest_poll.client_error" and caught.value.details["status"] == 404
    assert caught.value.details["tracking_number"] == "1Z999AA10123456784"


@pytest.fixture
def ups_down() -> Iterator[tuple[str, list[str]]]:
    """A local stand-in for UPS having a bad day: tokens work, tracking answers 503."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.path)
            if self.path.startswith("/security/"):
                status, body = 200, {"access_token": "t", "token_type": "Bearer", "expires_in": "14399"}
            else:
                status, body = 503, {"response": {"errors": [{"code": "503", "message": "Resource is not available"}]}}
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_outage_after_retries_is_a_carrier_api_failure_naming_the_partner(ups_down) -> None:
    url, seen = ups_down
    with pytest.raises(CarrierApiFailure) as caught:
        _tracker(url).fetch("1Z023E2X0214323462")
    error = caught.value
    assert error.code == "carrier.api_failure" and error.partner == "UPS"
    assert error.document == "1Z023E2X0214323462"
    assert error.details["carrier"] == "UPSN" and error.details["status"] == 503
    assert error.details["attempts"] == 3
    assert sum(p.startswith("/api/track/") for p in seen) == 3


def test_unreachable_carrier_is_a_carrier_api_failure() -> None:
    with pytest.raises(CarrierApiFailure) as caught:
        _tracker("http://127.0.0.1:9", max_attempts=2).fetch("1Z023E2X0214323462")
    assert caught.value.describe()["partner"] == "UPS"
