"""Receiving AS2: parse, store in the inbox, and only then answer with the MDN.

:func:`receive` is the one entry point; it cannot produce a positive MDN for a payload
the inbox has not stored, because it builds the MDN from the inbox's answer.

Usage:
    response = receive(headers, body, inbox=inbox, profiles=partners)
    # answer HTTP with response.status_code / .headers / .body, then, if set:
    if response.async_mdn is not None:
        response.async_mdn.deliver()   # in a background task, after the HTTP answer
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from connectors.base import Inbox, Receipt, StoredReceipt
from connectors.transports.as2.async_mdn import AsyncMdn
from connectors.transports.as2.config import PartnerProfiles
from connectors.transports.as2.errors import AS2Error, AS2SecurityError, UnknownPartnerError
from connectors.transports.as2.mdn import MdnStatus, build_mdn, render_mdn
from connectors.transports.as2.message import AS2Message, parse_as2_request, unquote_id
from connectors.transports.as2.smime import sign_entity

log = logging.getLogger(__name__)

__all__ = ["AS2Response", "MessageIdLedger", "receive"]


@runtime_checkable
class MessageIdLedger(Protocol):
    """Finds an earlier receipt of the same AS2 Message-ID from the same partner.

    The inbox already recognises the same *bytes*; this catches a Message-ID reused
    with other bytes. Implementations usually query the inbox by ``correlation_id``.
    """

    def earlier_receipt(self, partner_id: str, message_id: str) -> int | None: ...


@dataclass(frozen=True, slots=True)
class AS2Response:
    """What to answer an AS2 POST with, and what happened to it."""

    status_code: int
    headers: dict[str, str]
    body: bytes
    message: AS2Message | None = None
    stored: StoredReceipt | None = None
    error: AS2Error | None = None
    async_mdn: AsyncMdn | None = field(default=None)
    earlier_receipt_id: int | None = None  # same Message-ID seen before (MessageIdLedger)

    @property
    def duplicate(self) -> bool:
        """Seen before: same bytes (inbox) or same Message-ID (ledger). The MDN is re-sent."""
        return self.earlier_receipt_id is not None or (
            self.stored is not None and self.stored.already_seen)


def _text(status: int, text: str, error: AS2Error | None = None) -> AS2Response:
    return AS2Response(status, {"Content-Type": "text/plain; charset=utf-8"},
                       text.encode("utf-8"), error=error)


def _maybe_sign(message: AS2Message, headers: dict[str, str], body: bytes
                ) -> tuple[dict[str, str], bytes]:
    """Sign the MDN when the sender asked for a signed receipt and we hold a key."""
    partner = message.partner
    if not (message.signed_receipt_requested and partner.our_private_key_pem
            and partner.our_certificate_pem):
        return headers, body
    entity = f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode() + body
    # Always SHA-256: the receipt's signature digest is independent of the MIC's.
    content_type, signed = sign_entity(entity, partner, algorithm="sha256")
    return {**headers, "Content-Type": content_type}, signed


def _refusal(headers: Mapping[str, str], error: AS2Error) -> AS2Response:
    """Answer a message we would not store: an error MDN if one can go back now."""
    lowered = {k.lower(): v for k, v in headers.items()}
    sync_mdn = ("disposition-notification-to" in lowered
                and "receipt-delivery-option" not in lowered
                and not isinstance(error, UnknownPartnerError)
                and lowered.get("message-id") and lowered.get("as2-to"))
    if not sync_mdn:
        return _text(error.http_status, f"{error}\r\n", error)
    mdn_headers, body = render_mdn(
        our_id=unquote_id(lowered["as2-to"]), partner_id=error.partner or "unknown",
        original_message_id=lowered["message-id"],
        disposition=f"processed/error: {error.mdn_modifier}", text=str(error), mic=None)
    return AS2Response(200, mdn_headers, body, error=error)


def receive(headers: Mapping[str, str], body: bytes, *, inbox: Inbox,
            profiles: PartnerProfiles, document_type: str | None = None,
            ledger: MessageIdLedger | None = None) -> AS2Response:
    """Take one AS2 POST: store the payload durably, then build the MDN it asked for.

    Refusals (unknown partner, bad header, not MIME, failed signature) are answered with
    an error MDN or an HTTP 4xx and never reach the inbox. If ``inbox.store`` raises, no
    MDN exists and the exception propagates: answer 5xx and the partner will resend.

    Usage:
        response = receive(dict(request.headers), body, inbox=inbox, profiles=partners)
    """
    try:
        message = parse_as2_request(headers, body, profiles=profiles)
        url = message.receipt_delivery_option
        if url is not None and not AsyncMdn.allowed(url, message.partner):
            raise AS2SecurityError(
                f"Receipt-Delivery-Option {url!r} from {message.as2_from} is not a host "
                "configured for its MDNs", header="Receipt-Delivery-Option",
                partner=message.as2_from, message_id=message.message_id)
        if message.signed_receipt_required and message.partner.our_private_key_pem is None:
            raise AS2SecurityError(
                f"{message.as2_from} requires a signed MDN and no signing key is configured",
                header="Disposition-Notification-Options", partner=message.as2_from,
                message_id=message.message_id)
    except AS2Error as error:
        return _refusal(headers, error)
    receipt = Receipt(
        partner_id=message.partner.as2_id, channel="as2", document_type=document_type,
        content_type=message.content_type, filename=message.filename,
        correlation_id=message.message_id,
        meta={"as2_message_id": message.message_id, "as2_from": message.as2_from,
              "as2_to": message.as2_to, "subject": message.subject,
              "signed": message.signed, "encrypted": message.encrypted})
    earlier = (ledger.earlier_receipt(message.partner.as2_id, message.message_id)
               if ledger is not None else None)
    stored = inbox.store(receipt, message.payload)
    log.debug("as2 message %s from %s stored as receipt %s (%d bytes, signed=%s, encrypted=%s, duplicate of %s)",
              message.message_id, message.as2_from, stored.receipt_id, stored.size, message.signed,
              message.encrypted, stored.duplicate_of)
    if not message.mdn_requested:
        return AS2Response(200, {}, b"", message=message, stored=stored,
                           earlier_receipt_id=earlier)
    mdn_headers, mdn_body = _maybe_sign(message, *build_mdn(message, status=MdnStatus.PROCESSED))
    if message.receipt_delivery_option is not None:
        pending = AsyncMdn(url=message.receipt_delivery_option, headers=mdn_headers,
                           body=mdn_body, partner=message.partner,
                           original_message_id=message.message_id)
        return AS2Response(200, {}, b"", message=message, stored=stored, async_mdn=pending,
                           earlier_receipt_id=earlier)
    return AS2Response(200, mdn_headers, mdn_body, message=message, stored=stored,
                       earlier_receipt_id=earlier)
