"""mock-edi sends AS2 to a live Crossdock receiver: stored first, then a valid MDN."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from connectors.transports.as2 import AS2PartnerConfig, AS2Response, as2_endpoint, send_as2
from tests.connectors.transports.as2_support import EventLog, SqliteInbox, serve
from tests.support.mock_edi import MockEdi

pytestmark = pytest.mark.mock_edi

LINES = [{"sku": "WIDGET-001", "quantity": "100", "uom": "EA", "price": "12.50"}]


@dataclass
class Receiver:
    """Crossdock's AS2 endpoint on a real port, over a SQLite inbox."""

    url: str
    inbox: SqliteInbox
    responses: list[AS2Response]


def start_receiver(tmp_path: Path, partner: AS2PartnerConfig) -> Iterator[Receiver]:
    inbox = SqliteInbox(tmp_path / "inbox.db")
    responses: list[AS2Response] = []
    app = FastAPI()
    app.add_api_route("/as2", as2_endpoint(inbox=inbox, profiles={partner.as2_id: partner},
                                           on_receive=responses.append), methods=["POST"])
    with serve(EventLog(app, inbox.events)) as url:
        yield Receiver(f"{url}/as2", inbox, responses)


@pytest.fixture
def crossdock(tmp_path: Path, mock_edi: MockEdi) -> Iterator[Receiver]:
    """Crossdock as mock-edi's supplier CROSSDOCK: mock-edi buys from us over AS2."""
    partner = AS2PartnerConfig(as2_id="MOCKEDI", our_as2_id="CROSSDOCK", url=mock_edi.as2_url)
    yield from start_receiver(tmp_path, partner)


def register_supplier(mock: MockEdi, receiver: Receiver) -> None:
    mock.client.add_partner("CROSSDOCK", name="Crossdock Test Supplier", role="supplier",
                            dialect="X12", version="004010", as2_url=receiver.url)


def delivered(mock: MockEdi, code: str, count: int = 1) -> list[dict[str, object]]:
    def rows() -> list[dict[str, object]]:
        return [r for r in mock.client.outbox() if r["code"] == code
                and r["status"] in ("delivered", "failed")]
    mock.client.wait_for(lambda: len(rows()) >= count, what=f"{count} x {code} delivered")
    return rows()


def test_purchase_order_is_stored_before_the_mdn_and_mock_edi_accepts_the_mdn(
        mock_edi: MockEdi, crossdock: Receiver) -> None:
    register_supplier(mock_edi, crossdock)
    mock_edi.client.purchase("CROSSDOCK", LINES, po_number="4500001001")

    [row] = delivered(mock_edi, "850")
    assert row["status"] == "delivered"
    assert row["note"] == "MDN: automatic-action/MDN-sent-automatically; processed"

    [stored] = crossdock.inbox.rows()
    assert (stored["partner"], stored["channel"], stored["message_id"]) == (
        "MOCKEDI", "as2", row["message_id"])
    assert b"BEG*00*SA*4500001001" in stored["body"]
    assert crossdock.inbox.events == [("stored", row["message_id"]),
                                      ("answered", row["message_id"])]

    [mdn] = [m for m in mock_edi.client.mdns() if m["original_id"] == row["message_id"]]
    digest = base64.b64encode(hashlib.sha256(stored["body"]).digest()).decode()
    assert (mdn["direction"], mdn["mode"], mdn["status"]) == ("in", "sync", "received")
    assert mdn["disposition"] == "automatic-action/MDN-sent-automatically; processed"
    assert mdn["mic"] == f"{digest}, sha256"


def test_resent_message_gets_an_mdn_again_and_is_reported_as_duplicate(
        mock_edi: MockEdi, crossdock: Receiver) -> None:
    register_supplier(mock_edi, crossdock)
    mock_edi.client.purchase("CROSSDOCK", LINES, po_number="4500001002")
    [row] = delivered(mock_edi, "850")

    mock_edi.client.resend(int(str(row["id"])))
    mock_edi.client.wait_for(lambda: len(crossdock.responses) == 2, what="the resend")
    mock_edi.client.wait_for(lambda: len([m for m in mock_edi.client.mdns()
                                          if m["original_id"] == row["message_id"]]) == 2,
                             what="the second MDN recorded")

    first, again = crossdock.responses
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.stored is not None and first.stored is not None
    assert again.stored.duplicate_of == first.stored.receipt_id
    mdns = [m for m in mock_edi.client.mdns() if m["original_id"] == row["message_id"]]
    assert {m["disposition"] for m in mdns} == {
        "automatic-action/MDN-sent-automatically; processed"}


def test_no_mdn_when_the_inbox_cannot_store(mock_edi: MockEdi, crossdock: Receiver) -> None:
    crossdock.inbox.fail_with = OSError("disk full")
    register_supplier(mock_edi, crossdock)
    mock_edi.client.purchase("CROSSDOCK", LINES, po_number="4500001003")

    [row] = delivered(mock_edi, "850")
    assert row["status"] == "failed"
    assert row["note"] == "the partner answered HTTP 503"
    assert not [m for m in mock_edi.client.mdns() if m["original_id"] == row["message_id"]]
    assert crossdock.inbox.rows() == []


@pytest.mark.slow
def test_acme_documents_arrive_by_as2_after_crossdock_orders(
        mock_edi: MockEdi, tmp_path: Path) -> None:
    """Crossdock as buyer ACME: the 997/855/856/810 come back to our AS2 endpoint."""
    partner = AS2PartnerConfig(as2_id="MOCKEDI", our_as2_id="ACME", url=mock_edi.as2_url)
    for receiver in start_receiver(tmp_path, partner):
        mock_edi.client.patch_partner("ACME", as2_url=receiver.url)
        order = (Path(__file__).parent / "fixtures" / "acme_850.x12").read_bytes()
        send_as2(order, config=partner)

        rows = [delivered(mock_edi, code)[0] for code in ("997", "855", "856", "810")]
        assert {r["status"] for r in rows} == {"delivered"}
        stored = receiver.inbox.rows()
        assert {s["message_id"] for s in stored} == {r["message_id"] for r in rows}
        assert all(s["body"].startswith(b"ISA*") for s in stored)


def test_malformed_requests_get_clear_errors(crossdock: Receiver) -> None:
    base = {"AS2-From": "MOCKEDI", "AS2-To": "CROSSDOCK", "Message-ID": "<m-1@mock>",
            "Content-Type": "application/edi-x12"}

    def post(headers: dict[str, str], body: bytes = b"ISA*00~") -> httpx.Response:
        return httpx.post(crossdock.url, headers=headers, content=body, timeout=10)

    missing_to = post({k: v for k, v in base.items() if k != "AS2-To"})
    assert missing_to.status_code == 400
    assert "no AS2-To header" in missing_to.text and "MOCKEDI" in missing_to.text

    unknown = post({**base, "AS2-From": "STRANGER"})
    assert unknown.status_code == 403
    assert "'STRANGER' is not a configured AS2 partner" in unknown.text

    not_mime = post({k: v for k, v in base.items() if k != "Content-Type"})
    assert not_mime.status_code == 400 and "Content-Type header is missing" in not_mime.text

    with_mdn = post({**base, "Content-Type": "edi", "Disposition-Notification-To": "x@y"})
    assert with_mdn.status_code == 200
    assert "processed/error: unexpected-processing-error" in with_mdn.text
    assert "is not a MIME type" in with_mdn.text
    assert crossdock.inbox.rows() == []
