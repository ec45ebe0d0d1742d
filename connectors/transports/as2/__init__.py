"""AS2 (RFC 4130) transport: receive with an MDN after the inbox stored, send and verify.

Transport only: payload bytes in and out, no EDI parsing. Unsigned AS2 is complete;
S/MIME signing, verification, encryption and decryption use the ``cryptography`` package.

Usage:
    response = receive(headers, body, inbox=inbox, profiles=partners)   # receiving
    result = send_as2(edi_bytes, config=partner, filename="po.edi")     # sending
    app.add_api_route("/as2", as2_endpoint(inbox=inbox, profiles=partners),
                      methods=["POST"])                                  # mounting
"""

from __future__ import annotations

from connectors.transports.as2.asgi import MdnHandler, as2_endpoint
from connectors.transports.as2.async_mdn import AsyncMdn, retry_policy
from connectors.transports.as2.config import (
    AS2PartnerConfig,
    EncryptionAlgorithm,
    MdnDeliveryPolicy,
    MdnMode,
    MicAlgorithm,
    PartnerProfiles,
    lookup_partner,
)
from connectors.transports.as2.errors import (
    AS2Error,
    AS2RequestError,
    AS2SecurityError,
    UnknownPartnerError,
)
from connectors.transports.as2.mdn import MdnReport, MdnStatus, build_mdn, is_mdn, parse_mdn
from connectors.transports.as2.message import AS2Message, parse_as2_request
from connectors.transports.as2.mime import compute_mic
from connectors.transports.as2.receiver import AS2Response, MessageIdLedger, receive
from connectors.transports.as2.sender import (
    AS2Request,
    AS2SendResult,
    SentMessage,
    build_request,
    match_async_mdn,
    mdn_from,
    post_request,
    send_as2,
    verify_mdn,
    verify_mdn_signature,
)

__all__ = [
    "AS2Error",
    "AS2Message",
    "AS2PartnerConfig",
    "AS2Request",
    "AS2RequestError",
    "AS2Response",
    "AS2SecurityError",
    "AS2SendResult",
    "AsyncMdn",
    "EncryptionAlgorithm",
    "MdnDeliveryPolicy",
    "MdnHandler",
    "MdnMode",
    "MdnReport",
    "MdnStatus",
    "MessageIdLedger",
    "MicAlgorithm",
    "PartnerProfiles",
    "SentMessage",
    "UnknownPartnerError",
    "as2_endpoint",
    "build_mdn",
    "build_request",
    "compute_mic",
    "is_mdn",
    "lookup_partner",
    "match_async_mdn",
    "mdn_from",
    "parse_as2_request",
    "parse_mdn",
    "post_request",
    "receive",
    "retry_policy",
    "send_as2",
    "verify_mdn",
    "verify_mdn_signature",
]
