"""AS2 without mock-edi: MIME shapes, MDN checks, S/MIME round trips, OpenSSL interop."""

from __future__ import annotations

import base64
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from canonical.errors import PermanentError, RetryableError
from connectors.transports.as2 import (
    AS2PartnerConfig,
    AS2SendResult,
    AsyncMdn,
    MdnDeliveryPolicy,
    MdnMode,
    MicAlgorithm,
    SentMessage,
    as2_endpoint,
    build_request,
    compute_mic,
    match_async_mdn,
    parse_mdn,
    receive,
    send_as2,
    verify_mdn,
)
from connectors.transports.as2.smime import verify_detached
from tests.connectors.transports.as2_support import KeyPair, SqliteInbox, make_keypair, serve

PAYLOAD = (Path(__file__).parent / "fixtures" / "acme_850.x12").read_bytes()


@pytest.fixture(scope="module")
def keys() -> dict[str, KeyPair]:
    return {"ACME": make_keypair("ACME"), "HUB": make_keypair("HUB")}


def pair(keys: dict[str, KeyPair], **security: bool) -> tuple[AS2PartnerConfig, AS2PartnerConfig]:
    """(ACME's config for sending to HUB, HUB's config for receiving from ACME)."""
    acme, hub = keys["ACME"], keys["HUB"]
    sender = AS2PartnerConfig(as2_id="HUB", our_as2_id="ACME", url="http://127.0.0.1:9/as2",
                              our_certificate_pem=acme.certificate_pem,
                              our_private_key_pem=acme.private_key_pem,
                              partner_certificate_pem=hub.certificate_pem, **security)
    receiver = AS2PartnerConfig(as2_id="ACME", our_as2_id="HUB",
                                url="http://127.0.0.1:9/as2",
                                our_certificate_pem=hub.certificate_pem,
                                our_private_key_pem=hub.private_key_pem,
                                partner_certificate_pem=acme.certificate_pem,
                                require_signed=security.get("sign", False),
                                require_encrypted=security.get("encrypt", False))
    return sender, receiver


def test_mic_matches_known_digests() -> None:
    assert compute_mic(b"abc", "sha1") == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="
    assert compute_mic(b"abc", "sha-256") == "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="


def test_multipart_body_with_base64_part_yields_payload_and_filename(tmp_path: Path) -> None:
    part = base64.encodebytes(PAYLOAD).replace(b"\n", b"\r\n")
    body = (b"--b1\r\nContent-Type: application/edi-x12\r\nContent-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="po 1.x12"\r\n\r\n' + part
            + b"\r\n--b1--\r\n")
    headers = {"AS2-From": "ACME", "AS2-To": '"HUB"', "Message-ID": "<mp-1@acme>",
               "Content-Type": 'multipart/mixed; boundary="b1"',
               "Disposition-Notification-To": "edi@acme"}
    config = AS2PartnerConfig(as2_id="ACME", our_as2_id="HUB")
    inbox = SqliteInbox(tmp_path / "inbox.db")

    response = receive(headers, body, inbox=inbox, profiles={"ACME": config})

    [row] = inbox.rows()
    assert (row["body"], row["filename"]) == (PAYLOAD, "po 1.x12")
    assert parse_mdn(response.headers, response.body).ok


def test_mdn_checks_name_what_is_wrong(tmp_path: Path) -> None:
    sender = AS2PartnerConfig(as2_id="HUB", our_as2_id="ACME", mic_algorithm="sha1")
    request = build_request(PAYLOAD, config=sender)
    receiver = AS2PartnerConfig(as2_id="ACME", our_as2_id="HUB")
    answer = receive(request.headers, request.body, inbox=SqliteInbox(tmp_path / "i.db"),
                     profiles={"ACME": receiver})
    report = parse_mdn(answer.headers, answer.body)
    verify_mdn(report, request.sent)
    assert report.mic_algorithm == "sha1"

    other = SentMessage("<other@acme>", "HUB", "sha1", request.sent.mics)
    with pytest.raises(PermanentError, match="not '<other@acme>'") as wrong_id:
        verify_mdn(report, other)
    assert wrong_id.value.code == "as2.mdn_mismatch"
    tampered = SentMessage(request.sent.message_id, "HUB", "sha1", ("AAAA",))
    with pytest.raises(PermanentError) as wrong_mic:
        verify_mdn(report, tampered)
    assert wrong_mic.value.code == "as2.mic_mismatch"


@pytest.mark.parametrize("security", [{"sign": True}, {"encrypt": True},
                                      {"sign": True, "encrypt": True}],
                         ids=["signed", "encrypted", "signed+encrypted"])
def test_smime_round_trip_over_http(keys: dict[str, KeyPair], tmp_path: Path,
                                    security: dict[str, bool]) -> None:
    sender, receiver = pair(keys, **security)
    inbox = SqliteInbox(tmp_path / "inbox.db")
    app = FastAPI()
    app.add_api_route("/as2", as2_endpoint(inbox=inbox, profiles={"ACME": receiver}),
                      methods=["POST"])
    with serve(app) as url:
        result = send_as2(PAYLOAD, config=sender.model_copy(update={"url": f"{url}/as2"}),
                          filename="po.x12")
    assert result.mdn is not None and result.mdn.ok
    assert result.mdn.signed  # asked for (optional) and verified against HUB's certificate
    [row] = inbox.rows()
    assert (row["body"], row["filename"]) == (PAYLOAD, "po.x12")


def test_sha1_mic_with_a_signed_receipt(keys: dict[str, KeyPair], tmp_path: Path) -> None:
    """A sha1 MIC is still answered with a receipt signed with SHA-256, never a failure."""
    sender, receiver = pair(keys)
    sender = sender.model_copy(update={"mic_algorithm": MicAlgorithm.SHA1})
    receiver = receiver.model_copy(update={"mic_algorithm": MicAlgorithm.SHA1})
    request = build_request(PAYLOAD, config=sender)
    answer = receive(request.headers, request.body, inbox=SqliteInbox(tmp_path / "i.db"),
                     profiles={"ACME": receiver})
    report = parse_mdn(answer.headers, answer.body)
    verify_mdn(report, request.sent)
    assert report.signed and report.mic_algorithm == "sha1"
    assert "micalg=sha-256" in answer.headers["Content-Type"]


def test_tampered_or_unsigned_messages_are_refused(keys: dict[str, KeyPair],
                                                   tmp_path: Path) -> None:
    sender, receiver = pair(keys, sign=True)
    inbox = SqliteInbox(tmp_path / "inbox.db")
    request = build_request(PAYLOAD, config=sender)
    tampered = request.body.replace(b"WIDGET-001", b"WIDGET-999")
    refused = receive(request.headers, tampered, inbox=inbox, profiles={"ACME": receiver})
    assert "processed/error: authentication-failed" in refused.body.decode()
    assert refused.error is not None and "does not verify" in str(refused.error)

    plain = build_request(PAYLOAD, config=sender.model_copy(update={"sign": False}))
    unsigned = receive(plain.headers, plain.body, inbox=inbox, profiles={"ACME": receiver})
    assert "insufficient-message-security" in unsigned.body.decode()
    assert inbox.rows() == []


def test_async_mdn_round_trip_and_its_retries(tmp_path: Path) -> None:
    """Crossdock to Crossdock: the MDN is POSTed back after two 503s, then matched."""
    sent: dict[str, SentMessage] = {}
    matched: list[AS2SendResult] = []
    attempts: list[int] = []
    done = threading.Event()

    async def mdn_door(request: Request) -> Response:
        attempts.append(1)
        if len(attempts) < 3:
            return Response("busy", status_code=503, headers={"Retry-After": "1"})
        matched.append(match_async_mdn(dict(request.headers), await request.body(), sent=sent))
        done.set()
        return Response("")

    inbox = SqliteInbox(tmp_path / "inbox.db")
    fast = MdnDeliveryPolicy(attempts=4, initial_wait_s=0.01, max_wait_s=0.05)
    receiver = AS2PartnerConfig(as2_id="ACME", our_as2_id="HUB", url="http://127.0.0.1:9/",
                                mdn_delivery=fast)
    app = Starlette(routes=[
        Route("/as2", as2_endpoint(inbox=inbox, profiles={"ACME": receiver}), methods=["POST"]),
        Route("/mdn", mdn_door, methods=["POST"])])
    with serve(app) as url:
        sender = AS2PartnerConfig(as2_id="HUB", our_as2_id="ACME", url=f"{url}/as2",
                                  mdn_mode=MdnMode.ASYNC, async_mdn_url=f"{url}/mdn")
        result = send_as2(PAYLOAD, config=sender)
        sent[result.message_id] = result.sent
        assert done.wait(10)
    assert result.mdn is None and len(attempts) == 3
    assert matched[0].mdn is not None and matched[0].mdn.ok


def test_async_mdn_to_a_foreign_host_is_refused(tmp_path: Path) -> None:
    receiver = AS2PartnerConfig(as2_id="ACME", our_as2_id="HUB", url="http://127.0.0.1:9/")
    headers = {"AS2-From": "ACME", "AS2-To": "HUB", "Message-ID": "<a@acme>",
               "Content-Type": "application/edi-x12", "Disposition-Notification-To": "x",
               "Receipt-Delivery-Option": "http://169.254.169.254/latest"}
    inbox = SqliteInbox(tmp_path / "inbox.db")
    answer = receive(headers, PAYLOAD, inbox=inbox, profiles={"ACME": receiver})
    assert answer.status_code == 403 and "Receipt-Delivery-Option" in answer.body.decode()
    assert inbox.rows() == []


def test_mdn_delivery_gives_up_as_retryable_when_attempts_are_spent() -> None:
    async def down(_request: Request) -> Response:
        return Response("down", status_code=502)

    policy = MdnDeliveryPolicy(attempts=2, initial_wait_s=0.01, max_wait_s=0.02)
    with serve(Starlette(routes=[Route("/mdn", down, methods=["POST"])])) as url:
        partner = AS2PartnerConfig(as2_id="ACME", our_as2_id="HUB", url=url, mdn_delivery=policy)
        pending = AsyncMdn(url=f"{url}/mdn", headers={}, body=b"", partner=partner,
                           original_message_id="<x@acme>")
        with pytest.raises(RetryableError, match="HTTP 502"):
            pending.deliver()


openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl CLI")


@openssl
def test_openssl_signatures_verify_and_ours_verify_in_openssl(tmp_path: Path,
                                                              keys: dict[str, KeyPair]) -> None:
    acme = keys["ACME"]
    (tmp_path / "cert.pem").write_text(acme.certificate_pem)
    (tmp_path / "key.pem").write_text(acme.private_key_pem)
    entity = b"Content-Type: application/edi-x12\r\n\r\n" + PAYLOAD
    (tmp_path / "entity").write_bytes(entity)
    _, receiver = pair(keys)
    for extra in ([], ["-stream"]):  # DER, and BER with indefinite lengths
        subprocess.run(["openssl", "cms", "-sign", "-binary", "-in", "entity", "-signer",
                        "cert.pem", "-inkey", "key.pem", "-outform", "DER", "-out", "sig",
                        *extra], cwd=tmp_path, check=True, capture_output=True)
        verify_detached(entity, (tmp_path / "sig").read_bytes(), receiver)

    sender, _ = pair(keys, sign=True)
    request = build_request(PAYLOAD, config=sender)
    (tmp_path / "ours.eml").write_bytes(
        f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode() + request.body)
    # Without -binary: OpenSSL's S/MIME reader drops the CRs of the signed part and
    # restores them only when canonicalising; we sign the CRLF form, as RFC 5751 asks.
    checked = subprocess.run(["openssl", "cms", "-verify", "-in", "ours.eml",
                              "-inform", "SMIME", "-CAfile", "cert.pem", "-purpose", "any",
                              "-out", "content"], cwd=tmp_path, capture_output=True)
    assert checked.returncode == 0, checked.stderr.decode()
    assert (tmp_path / "content").read_bytes().endswith(PAYLOAD)


@openssl
def test_openssl_decrypts_what_we_encrypt(tmp_path: Path, keys: dict[str, KeyPair]) -> None:
    hub = keys["HUB"]
    (tmp_path / "cert.pem").write_text(hub.certificate_pem)
    (tmp_path / "key.pem").write_text(hub.private_key_pem)
    sender, _ = pair(keys, encrypt=True)
    (tmp_path / "enc.der").write_bytes(build_request(PAYLOAD, config=sender).body)
    out = subprocess.run(["openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in",
                          "enc.der", "-recip", "cert.pem", "-inkey", "key.pem"],
                         cwd=tmp_path, capture_output=True, check=True)
    assert out.stdout.endswith(b"\r\n\r\n" + PAYLOAD)


def test_reused_message_id_with_other_bytes_is_a_duplicate_that_still_gets_an_mdn(
        tmp_path: Path) -> None:
    sender = AS2PartnerConfig(as2_id="HUB", our_as2_id="ACME")
    receiver = AS2PartnerConfig(as2_id="ACME", our_as2_id="HUB")
    inbox = SqliteInbox(tmp_path / "inbox.db")
    answers = []
    for payload in (PAYLOAD, PAYLOAD.replace(b"*10*EA*", b"*11*EA*")):
        request = build_request(payload, config=sender, message_id="<same@acme>")
        answers.append(receive(request.headers, request.body, inbox=inbox,
                               profiles={"ACME": receiver}, ledger=inbox))
        verify_mdn(parse_mdn(answers[-1].headers, answers[-1].body), request.sent)
    first, again = answers
    assert (first.duplicate, again.duplicate) == (False, True)
    assert first.stored is not None and again.earlier_receipt_id == first.stored.receipt_id


def test_incomplete_security_configuration_is_refused_at_load_time() -> None:
    with pytest.raises(ValueError, match="our_certificate_pem and our_private_key_pem"):
        AS2PartnerConfig(as2_id="HUB", our_as2_id="ACME", sign=True)
    with pytest.raises(ValueError, match="async_mdn_url"):
        AS2PartnerConfig(as2_id="HUB", our_as2_id="ACME", mdn_mode="async")


def test_unknown_partner_never_reaches_the_inbox(tmp_path: Path) -> None:
    inbox = SqliteInbox(tmp_path / "inbox.db")
    headers = {"AS2-From": "WHO", "AS2-To": "HUB", "Message-ID": "<w@who>",
               "Content-Type": "application/edi-x12", "Disposition-Notification-To": "x"}
    answer = receive(headers, PAYLOAD, inbox=inbox, profiles=lambda _as2_id: None)
    assert answer.status_code == 403 and answer.error is not None
    assert answer.error.header == "AS2-From" and inbox.rows() == []
