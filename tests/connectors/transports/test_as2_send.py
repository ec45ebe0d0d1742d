"""Crossdock sends AS2 to the real mock-edi trading partner and checks its MDN."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from canonical.errors import PermanentError, RetryableError
from connectors.transports.as2 import (
    AS2PartnerConfig,
    AS2SendResult,
    MdnMode,
    SentMessage,
    as2_endpoint,
    match_async_mdn,
    send_as2,
)
from tests.connectors.transports.as2_support import SqliteInbox, make_keypair, serve
from tests.support.mock_edi import MockEdi, free_port

pytestmark = pytest.mark.mock_edi

FIXTURE = Path(__file__).parent / "fixtures" / "acme_850.x12"


def acme_850(control: int = 101, po: str = "CD-PO-1001") -> bytes:
    """The fixture interchange from ACME to MOCKEDI under another ISA13 and PO number."""
    return (FIXTURE.read_bytes().replace(b"000000101", f"{control:09d}".encode())
            .replace(b"CD-PO-1001", po.encode()))


def acme(mock: MockEdi, **overrides: object) -> AS2PartnerConfig:
    """Crossdock, trading as mock-edi's seeded customer ACME, with mock-edi."""
    fields: dict[str, object] = {"as2_id": "MOCKEDI", "our_as2_id": "ACME",
                                 "url": mock.as2_url, "timeout_s": 15.0, **overrides}
    return AS2PartnerConfig.model_validate(fields)


def b64digest(name: str, data: bytes) -> str:
    return base64.b64encode(hashlib.new(name, data).digest()).decode()


def test_sent_850_gets_a_verified_mdn_and_the_order_is_recorded(mock_edi: MockEdi) -> None:
    payload = acme_850()
    result = send_as2(payload, config=acme(mock_edi), filename="CD-PO-1001.x12")

    assert result.mdn is not None and result.mdn.ok
    assert result.mdn.original_message_id == result.message_id
    assert result.mdn.mic == b64digest("sha256", payload)
    assert "CD-PO-1001" in result.mdn.text
    assert mock_edi.client.order("CD-PO-1001")["partner"] == "ACME"
    answered = [m for m in mock_edi.client.mdns() if m["original_id"] == result.message_id]
    assert [(m["direction"], m["mode"]) for m in answered] == [("out", "sync")]


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_mic_is_computed_and_checked_with_the_requested_algorithm(
        mock_edi: MockEdi, algorithm: str) -> None:
    payload = acme_850(control=200 + len(algorithm), po=f"CD-MIC-{algorithm}")
    result = send_as2(payload, config=acme(mock_edi, mic_algorithm=algorithm))

    assert result.mdn is not None
    assert result.mdn.mic_algorithm == algorithm
    assert result.mdn.mic == result.mic == b64digest(algorithm, payload)


@pytest.mark.parametrize("security", [{"sign": True}, {"encrypt": True}])
def test_mock_edi_refusal_of_smime_is_surfaced_as_permanent(
        mock_edi: MockEdi, security: dict[str, bool]) -> None:
    ours, theirs = make_keypair("ACME"), make_keypair("MOCKEDI")
    config = acme(mock_edi, our_certificate_pem=ours.certificate_pem,
                  our_private_key_pem=ours.private_key_pem,
                  partner_certificate_pem=theirs.certificate_pem, **security)

    with pytest.raises(PermanentError) as refused:
        send_as2(acme_850(control=301), config=config)

    assert refused.value.code == "as2.mdn_negative"
    assert "insufficient-message-security" in str(refused.value)
    assert "does not implement S/MIME" in str(refused.value)
    assert refused.value.partner == "MOCKEDI"


def test_no_mdn_where_one_was_asked_for_is_permanent(
        mock_edi_factory: Callable[..., MockEdi]) -> None:
    mock = mock_edi_factory("--no-mdn")
    with pytest.raises(PermanentError) as failed:
        send_as2(acme_850(control=401), config=acme(mock))
    assert failed.value.code == "as2.mdn_unreadable"


def test_server_errors_and_lost_connections_are_retryable(
        mock_edi_factory: Callable[..., MockEdi]) -> None:
    flaky = mock_edi_factory("--error-rate", "1")
    with pytest.raises(RetryableError) as server_error:
        send_as2(acme_850(control=501), config=acme(flaky))
    assert server_error.value.details["status"] == 500

    nobody = AS2PartnerConfig(as2_id="MOCKEDI", our_as2_id="ACME",
                              url=f"http://127.0.0.1:{free_port()}/as2", connect_timeout_s=2)
    with pytest.raises(RetryableError) as lost:
        send_as2(acme_850(control=502), config=nobody)
    assert lost.value.code == "as2.transport"


def test_retry_after_is_carried_on_the_retryable_error() -> None:
    async def busy(_request: object) -> Response:
        return Response("busy", status_code=503, headers={"Retry-After": "7"})

    app = Starlette(routes=[Route("/as2", busy, methods=["POST"])])
    with serve(app) as url:
        config = AS2PartnerConfig(as2_id="BUSY", our_as2_id="CROSSDOCK", url=f"{url}/as2")
        with pytest.raises(RetryableError) as busy_error:
            send_as2(b"ISA*...", config=config)
    assert busy_error.value.retry_after == 7.0


def test_async_mdn_from_mock_edi_is_matched_to_what_we_sent(
        mock_edi: MockEdi, tmp_path: Path) -> None:
    sent: dict[str, SentMessage] = {}
    matched: list[AS2SendResult] = []
    arrived = threading.Event()

    def on_mdn(headers: object, body: bytes) -> None:
        matched.append(match_async_mdn(headers, body, sent=sent))  # type: ignore[arg-type]
        arrived.set()

    app = FastAPI()
    app.add_api_route("/as2", as2_endpoint(inbox=SqliteInbox(tmp_path / "inbox.db"),
                                           profiles={}, on_mdn=on_mdn), methods=["POST"])
    with serve(app) as url:
        config = acme(mock_edi, mdn_mode=MdnMode.ASYNC, async_mdn_url=f"{url}/as2")
        payload = acme_850(control=601, po="CD-ASYNC-1")
        result = send_as2(payload, config=config)
        sent[result.message_id] = result.sent
        assert result.status_code == 202 and result.mdn is None
        assert arrived.wait(10), mock_edi.log()

    assert matched[0].message_id == result.message_id
    assert matched[0].mdn is not None and matched[0].mdn.ok
    assert matched[0].mdn.mic == b64digest("sha256", payload)
    delivered = [m for m in mock_edi.client.mdns() if m["original_id"] == result.message_id]
    assert [(m["mode"], m["status"]) for m in delivered] == [("async", "sent")]
