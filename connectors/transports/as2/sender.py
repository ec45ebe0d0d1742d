"""Sending AS2: build the request, POST it, and verify the MDN that comes back.

Failures are classified for the pipeline: a lost connection, a timeout, 408/429/5xx are
``RetryableError`` (with ``retry_after`` from Retry-After); a refusal, a negative MDN,
a wrong Original-Message-ID or MIC are ``PermanentError`` carrying the partner's words.
Retrying is the pipeline's job (one policy); this module sends once.

Usage:
    result = send_as2(edi_bytes, config=acme, filename="po-1001.edi")
    result.mdn.disposition   # "automatic-action/MDN-sent-automatically; processed"
"""

from __future__ import annotations

import email.utils
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from canonical.errors import PermanentError
from connectors.transports.as2._http import classify_response, classify_transport_error
from connectors.transports.as2.config import AS2PartnerConfig, MdnMode
from connectors.transports.as2.mdn import AS2_VERSION, MdnReport, parse_mdn
from connectors.transports.as2.message import quote_id, unquote_id
from connectors.transports.as2.mime import MimeError, compute_mic, entity_from_http
from connectors.transports.as2.smime import encrypt_entity, sign_entity, verify_detached

__all__ = ["AS2Request", "AS2SendResult", "SentMessage", "build_request", "match_async_mdn",
           "mdn_from", "post_request", "send_as2", "verify_mdn", "verify_mdn_signature"]


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What to keep about a sent message to check its (possibly later) MDN."""

    message_id: str
    partner_id: str
    mic_algorithm: str
    mics: tuple[str, ...]  # acceptable Received-Content-MIC values, ours first


@dataclass(frozen=True, slots=True)
class AS2SendResult:
    """The outcome of one send. ``mdn`` is None until an async MDN is matched."""

    sent: SentMessage
    status_code: int
    mdn: MdnReport | None

    @property
    def message_id(self) -> str:
        return self.sent.message_id

    @property
    def mic(self) -> str:
        return self.sent.mics[0]


def _entity(payload: bytes, content_type: str, filename: str | None) -> tuple[bytes, bytes]:
    """(MIME headers, payload) of the entity we send."""
    head = f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\n"
    if filename:
        head += f'Content-Disposition: attachment; filename="{filename}"\r\n'
    return head.encode("latin-1") + b"\r\n", payload


def _body(payload: bytes, config: AS2PartnerConfig, content_type: str,
          filename: str | None) -> tuple[dict[str, str], bytes, tuple[str, ...]]:
    """Entity headers for HTTP, the HTTP body, and the MICs the partner may report."""
    algorithm = config.mic_algorithm.value
    head, _ = _entity(payload, content_type, filename)
    entity = head + payload
    if not config.sign and not config.encrypt:
        headers = {"Content-Type": content_type}
        if filename:
            headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        # RFC 4130 takes an unsigned MIC over headers and content; most receivers
        # (the mock trading partner included) take it over the content alone.
        return headers, payload, (compute_mic(payload, algorithm),
                                  compute_mic(entity, algorithm))
    mics = (compute_mic(entity, algorithm),)
    if config.sign:
        signed_type, signed_body = sign_entity(entity, config)
        entity = f"Content-Type: {signed_type}\r\n\r\n".encode() + signed_body
        headers, body = {"Content-Type": signed_type}, signed_body
    if config.encrypt:
        encrypted_type, body = encrypt_entity(entity, config)
        headers = {"Content-Type": encrypted_type, "Content-Transfer-Encoding": "binary"}
    return headers, body, mics


def _request_headers(config: AS2PartnerConfig, message_id: str, subject: str
                     ) -> dict[str, str]:
    headers = {"AS2-Version": AS2_VERSION, "AS2-From": quote_id(config.our_as2_id),
               "AS2-To": quote_id(config.as2_id), "Message-ID": message_id,
               "Subject": subject, "Date": email.utils.formatdate(usegmt=True),
               "MIME-Version": "1.0", "EDIINT-Features": "AS2-Reliability"}
    if config.mdn_mode is not MdnMode.NONE:
        headers["Disposition-Notification-To"] = config.mdn_to
        headers["Disposition-Notification-Options"] = (
            "signed-receipt-protocol=optional, pkcs7-signature; "
            f"signed-receipt-micalg=optional, {config.mic_algorithm.value}")
    if config.mdn_mode is MdnMode.ASYNC:
        if config.async_mdn_url is None:
            raise PermanentError(f"AS2 partner {config.as2_id} is set to async MDNs "
                                 "without async_mdn_url", code="config.error",
                                 partner=config.as2_id)
        headers["Receipt-Delivery-Option"] = str(config.async_mdn_url)
    return headers


def verify_mdn_signature(headers: Mapping[str, str], body: bytes, config: AS2PartnerConfig,
                         message_id: str) -> None:
    """A signed MDN is checked when we hold the partner's certificate; unsigned is fine.

    Raises ``AS2SecurityError`` when the signature does not verify.
    """
    entity = entity_from_http(headers, body)
    if entity.content_type == "multipart/signed" and config.partner_certificate_pem:
        signed, signature = entity.parts()[:2]
        verify_detached(signed.raw, signature.decoded(), config, message_id=message_id)


def mdn_from(report: MdnReport, sent: SentMessage) -> bool:
    """Whether the MDN comes from the partner the message went to (AS2-From, when given)."""
    return report.as2_from is None or unquote_id(report.as2_from) == sent.partner_id


def verify_mdn(report: MdnReport, sent: SentMessage) -> None:
    """Raise ``PermanentError`` unless the MDN says processed, for this message, this MIC."""
    partner, document = sent.partner_id, sent.message_id
    if report.original_message_id != sent.message_id:
        raise PermanentError(f"MDN from {sent.partner_id} answers "
                             f"{report.original_message_id!r}, not {sent.message_id!r}",
                             code="as2.mdn_mismatch", partner=partner, document=document)
    if not report.ok:
        raise PermanentError(f"AS2 partner {sent.partner_id} refused {sent.message_id}: "
                             f"{report.disposition}; {report.text}", code="as2.mdn_negative",
                             details={"disposition": report.disposition, "text": report.text},
                             partner=partner, document=document)
    algorithm = (report.mic_algorithm or "").replace("-", "")
    if report.mic not in sent.mics or algorithm != sent.mic_algorithm:
        raise PermanentError(f"MDN from {sent.partner_id} reports MIC {report.mic}, "
                             f"{report.mic_algorithm}; we sent {sent.mics[0]}, "
                             f"{sent.mic_algorithm}", code="as2.mic_mismatch",
                             partner=partner, document=document)


@dataclass(frozen=True, slots=True)
class AS2Request:
    """A built AS2 POST: headers, body, and what to check the MDN against."""

    headers: dict[str, str]
    body: bytes
    sent: SentMessage


def build_request(payload: bytes, *, config: AS2PartnerConfig, filename: str | None = None,
                  content_type: str = "application/edi-x12", subject: str | None = None,
                  message_id: str | None = None) -> AS2Request:
    """Headers and body of an AS2 message to ``config`` (signed/encrypted as configured).

    Usage:
        request = build_request(b"ISA*00*...", config=acme, filename="po.edi")
    """
    message_id = message_id or f"<{uuid.uuid4().hex}@{config.our_as2_id.replace(' ', '_')}>"
    entity_headers, body, mics = _body(payload, config, content_type, filename)
    headers = {**_request_headers(config, message_id, subject or filename or "EDI"),
               **entity_headers}
    return AS2Request(headers, body,
                      SentMessage(message_id, config.as2_id, config.mic_algorithm.value, mics))


def send_as2(payload: bytes, *, config: AS2PartnerConfig, filename: str | None = None,
             content_type: str = "application/edi-x12", subject: str | None = None,
             message_id: str | None = None, client: httpx.Client | None = None
             ) -> AS2SendResult:
    """POST one payload to the partner; with a sync MDN, return only once it is verified.

    With ``mdn_mode`` async, keep ``result.sent`` to check the MDN with
    :func:`match_async_mdn` when it arrives.

    Usage:
        result = send_as2(b"ISA*00*...", config=acme, filename="po.edi")
    """
    request = build_request(payload, config=config, filename=filename,
                            content_type=content_type, subject=subject, message_id=message_id)
    return post_request(request, config=config, client=client)


def post_request(request: AS2Request, *, config: AS2PartnerConfig,
                 client: httpx.Client | None = None) -> AS2SendResult:
    """POST a built request; with a sync MDN, return only once it is verified.

    Split from :func:`send_as2` for callers that record ``request.sent`` before the POST,
    so that an async MDN arriving before the POST returns can already be matched.

    Usage:
        request = build_request(b"ISA*00*...", config=acme, filename="po.edi")
        remember(request.sent)
        result = post_request(request, config=acme)
    """
    if config.url is None:
        raise PermanentError(f"AS2 partner {config.as2_id} has no url", code="config.error",
                             partner=config.as2_id)
    sent, message_id = request.sent, request.sent.message_id
    url = str(config.url)
    timeout = httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s)
    http = client or httpx.Client(timeout=timeout)
    try:
        response = http.post(url, headers=request.headers, content=request.body,
                             timeout=timeout)
    except httpx.TransportError as exc:
        raise classify_transport_error(exc, url=url, partner=config.as2_id,
                                       document=message_id) from exc
    finally:
        if client is None:
            http.close()
    error = classify_response(response, partner=config.as2_id, document=message_id)
    if error is not None:
        raise error
    if config.mdn_mode is not MdnMode.SYNC:
        return AS2SendResult(sent, response.status_code, None)
    try:
        report = parse_mdn(dict(response.headers), response.content)
        verify_mdn_signature(dict(response.headers), response.content, config, message_id)
    except MimeError as exc:
        raise PermanentError(f"AS2 partner {config.as2_id} answered {message_id} without a "
                             f"readable MDN: {exc}", code="as2.mdn_unreadable",
                             partner=config.as2_id, document=message_id) from exc
    verify_mdn(report, sent)
    return AS2SendResult(sent, response.status_code, report)


def match_async_mdn(headers: Mapping[str, str], body: bytes, *,
                    sent: Mapping[str, SentMessage] | Callable[[str], SentMessage | None]
                    ) -> AS2SendResult:
    """Match an inbound async MDN to the message we sent, and verify it.

    ``sent`` finds a :class:`SentMessage` by Message-ID. Raises ``PermanentError`` for an
    unreadable or unmatched MDN, or one that does not verify.

    Usage:
        result = match_async_mdn(request_headers, body, sent=outbox_by_message_id)
    """
    try:
        report = parse_mdn(headers, body)
    except MimeError as exc:
        raise PermanentError(f"async MDN is unreadable: {exc}",
                             code="as2.mdn_unreadable") from exc
    original = report.original_message_id or ""
    found = sent.get(original) if isinstance(sent, Mapping) else sent(original)
    if found is None or not mdn_from(report, found):
        raise PermanentError(f"async MDN from {report.as2_from} answers {original!r}, which we "
                             "did not send to it", code="as2.mdn_unmatched", document=original)
    verify_mdn(report, found)
    return AS2SendResult(found, 200, report)
