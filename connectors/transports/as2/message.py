"""Reading an inbound AS2 request: headers, partner, MIME body, security, MIC input.

Usage:
    message = parse_as2_request(request_headers, body, profiles={"ACME": acme_config})
    message.payload, message.filename, message.mic_algorithm
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from connectors.transports.as2 import smime
from connectors.transports.as2.config import (
    AS2PartnerConfig,
    MicAlgorithm,
    PartnerProfiles,
    lookup_partner,
)
from connectors.transports.as2.errors import (
    AS2RequestError,
    AS2SecurityError,
    UnknownPartnerError,
)
from connectors.transports.as2.mime import MimeEntity, MimeError, entity_from_http

__all__ = ["AS2Message", "parse_as2_request", "parse_notification_options", "quote_id",
           "unquote_id"]

_MICALGS = {"sha256": MicAlgorithm.SHA256, "sha-256": MicAlgorithm.SHA256,
            "sha1": MicAlgorithm.SHA1, "sha-1": MicAlgorithm.SHA1}


@dataclass(frozen=True, slots=True)
class AS2Message:
    """One inbound AS2 message, unwrapped. ``mic_content`` is what the MIC is taken over."""

    as2_from: str
    as2_to: str
    message_id: str
    partner: AS2PartnerConfig
    payload: bytes
    content_type: str
    filename: str | None
    mic_content: bytes
    subject: str | None = None
    mdn_to: str | None = None
    receipt_delivery_option: str | None = None
    mic_algorithm: MicAlgorithm = MicAlgorithm.SHA1
    signed_receipt_requested: bool = False
    signed_receipt_required: bool = False
    signed: bool = False
    encrypted: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def mdn_requested(self) -> bool:
        return self.mdn_to is not None or self.receipt_delivery_option is not None

    @property
    def async_mdn(self) -> bool:
        return self.receipt_delivery_option is not None


def quote_id(as2_id: str) -> str:
    """Quote an AS2 identifier for a header when it holds spaces or specials."""
    if any(c in as2_id for c in ' "\\()<>@,;:/[]?='):
        return '"' + as2_id.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return as2_id


def unquote_id(value: str) -> str:
    """AS2 identifiers may be quoted (RFC 4130 section 6.2); the quotes are not the id."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def parse_notification_options(value: str | None) -> dict[str, tuple[str, list[str]]]:
    """``a=importance, v1, v2; b=...`` -> ``{"a": ("importance", ["v1", "v2"])}``."""
    out: dict[str, tuple[str, list[str]]] = {}
    for item in (value or "").split(";"):
        name, sep, rest = item.partition("=")
        if not sep:
            continue
        values = [v.strip() for v in rest.split(",") if v.strip()]
        if values:
            out[name.strip().lower()] = (values[0].lower(), values[1:])
    return out


def _required(headers: Mapping[str, str], name: str, partner: str | None) -> str:
    value = headers.get(name.lower(), "").strip()
    if not value:
        who = f" from {partner}" if partner else ""
        raise AS2RequestError(f"AS2 request{who} has no {name} header", header=name,
                              partner=partner)
    return value


def _mic_algorithm(options: dict[str, tuple[str, list[str]]],
                   partner: AS2PartnerConfig) -> MicAlgorithm:
    _importance, wanted = options.get("signed-receipt-micalg", ("", []))
    for name in wanted:
        if name.lower() in _MICALGS:
            return _MICALGS[name.lower()]
    return partner.mic_algorithm if not wanted else MicAlgorithm.SHA1


def _unwrap(entity: MimeEntity, partner: AS2PartnerConfig, message_id: str
            ) -> tuple[MimeEntity, bytes | None, bool, bool]:
    """Undo encryption and check the signature: (entity, signed bytes, signed, encrypted)."""
    encrypted = signed = False
    signed_bytes: bytes | None = None
    if entity.content_type in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        smime_type = (entity.param("smime-type") or "enveloped-data").lower()
        if smime_type != "enveloped-data":
            raise AS2SecurityError(f"{partner.as2_id} sent smime-type={smime_type}, which "
                                   "Crossdock does not read", partner=partner.as2_id,
                                   header="Content-Type", message_id=message_id)
        entity = smime.decrypt_entity(entity.decoded(), partner, message_id=message_id)
        encrypted = True
    if entity.content_type == "multipart/signed":
        parts = entity.parts()
        if len(parts) != 2:
            raise AS2RequestError(f"multipart/signed from {partner.as2_id} has {len(parts)} "
                                  "parts, expected 2", partner=partner.as2_id,
                                  header="Content-Type", message_id=message_id)
        smime.verify_detached(parts[0].raw, parts[1].decoded(), partner,
                              message_id=message_id)
        entity, signed_bytes, signed = parts[0], parts[0].raw, True
    if partner.require_encrypted and not encrypted:
        raise AS2SecurityError(f"{partner.as2_id} must encrypt, message is not encrypted",
                               partner=partner.as2_id, message_id=message_id)
    if partner.require_signed and not signed:
        raise AS2SecurityError(f"{partner.as2_id} must sign, message is not signed",
                               partner=partner.as2_id, message_id=message_id)
    return entity, signed_bytes, signed, encrypted


def parse_as2_request(headers: Mapping[str, str], body: bytes, *,
                      profiles: PartnerProfiles) -> AS2Message:
    """Read an AS2 POST into an :class:`AS2Message`, or raise an ``AS2Error`` naming why.

    Usage:
        message = parse_as2_request(dict(request.headers), await request.body(),
                                    profiles=partner_configs)
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    as2_from = unquote_id(_required(lowered, "AS2-From", None))
    as2_to = unquote_id(_required(lowered, "AS2-To", as2_from))
    message_id = _required(lowered, "Message-ID", as2_from)
    partner = lookup_partner(profiles, as2_from)
    if partner is None:
        raise UnknownPartnerError(f"AS2-From {as2_from!r} is not a configured AS2 partner",
                                  header="AS2-From", partner=as2_from, message_id=message_id)
    if as2_to != partner.our_as2_id:
        raise UnknownPartnerError(
            f"AS2-To {as2_to!r} is not Crossdock's AS2 id with {as2_from} "
            f"({partner.our_as2_id!r})", header="AS2-To", partner=as2_from,
            message_id=message_id)
    try:
        entity = entity_from_http(lowered, body)
        entity, signed_bytes, signed, encrypted = _unwrap(entity, partner, message_id)
        mic_content = signed_bytes if signed_bytes is not None else (
            entity.raw if encrypted else entity.body)
        if entity.is_multipart:
            entity = next((p for p in entity.parts()
                           if not p.content_type.startswith("application/pkcs7")), entity)
            if entity.is_multipart:
                raise MimeError("multipart body holds no payload part")
        payload = entity.decoded()
    except MimeError as exc:
        raise AS2RequestError(f"body from {as2_from} is not a readable MIME entity: {exc}",
                              header="Content-Type", partner=as2_from,
                              message_id=message_id) from exc
    options = parse_notification_options(lowered.get("disposition-notification-options"))
    protocol = options.get("signed-receipt-protocol", ("", []))[0]
    return AS2Message(
        as2_from=as2_from, as2_to=as2_to, message_id=message_id, partner=partner,
        payload=payload, content_type=entity.content_type, filename=entity.filename,
        mic_content=mic_content, subject=lowered.get("subject"),
        mdn_to=lowered.get("disposition-notification-to"),
        receipt_delivery_option=lowered.get("receipt-delivery-option") or None,
        mic_algorithm=_mic_algorithm(options, partner),
        signed_receipt_requested=bool(protocol),
        signed_receipt_required=protocol == "required", signed=signed, encrypted=encrypted,
        headers=dict(headers),
    )
