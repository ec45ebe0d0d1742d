"""How Crossdock trades AS2 with one partner: identifiers, URL, receipts, security.

One :class:`AS2PartnerConfig` per trading relationship. Receiving looks a partner up by
the ``AS2-From`` it sends (:data:`PartnerProfiles`); sending posts to ``url``.

Usage:
    config = AS2PartnerConfig(as2_id="ACME", our_as2_id="CROSSDOCK",
                              url="https://edi.acme.example/as2")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TypeAlias

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, model_validator

from connectors.base import ConnectorConfig

__all__ = [
    "AS2PartnerConfig",
    "EncryptionAlgorithm",
    "MdnDeliveryPolicy",
    "MdnMode",
    "MicAlgorithm",
    "PartnerProfiles",
    "lookup_partner",
]


class MdnMode(StrEnum):
    """Where the partner's receipt (MDN) for what we send comes back."""

    SYNC = "sync"  # in the HTTP response to our POST
    ASYNC = "async"  # POSTed later to ``async_mdn_url``
    NONE = "none"  # no receipt asked for


class MicAlgorithm(StrEnum):
    """Digest used for the Received-Content-MIC (RFC 4130 section 7.3)."""

    SHA256 = "sha256"
    SHA1 = "sha1"


class EncryptionAlgorithm(StrEnum):
    """Content encryption for outbound CMS EnvelopedData."""

    AES128_CBC = "aes128-cbc"
    AES256_CBC = "aes256-cbc"


class MdnDeliveryPolicy(BaseModel):
    """Retry policy for POSTing an asynchronous MDN to a partner."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attempts: int = Field(5, ge=1, le=50, description="Attempts before giving up.")
    initial_wait_s: float = Field(1.0, ge=0, description="First back-off, in seconds.")
    max_wait_s: float = Field(60.0, ge=0, description="Cap on one back-off, Retry-After included.")
    timeout_s: float = Field(30.0, gt=0, description="Per-attempt HTTP timeout, in seconds.")


class AS2PartnerConfig(ConnectorConfig):
    """One AS2 trading relationship, seen from Crossdock's side."""

    as2_id: str = Field(..., min_length=1, max_length=128, title="Partner AS2 id",
                        description="The partner's AS2 identifier: their AS2-From, our AS2-To.")
    our_as2_id: str = Field(..., min_length=1, max_length=128, title="Our AS2 id",
                            description="Crossdock's AS2 identifier with this partner.")
    url: HttpUrl | None = Field(None, title="Partner AS2 URL",
                                description="Where messages to this partner are POSTed.")
    mdn_mode: MdnMode = Field(MdnMode.SYNC, description="How we ask for the partner's MDN.")
    async_mdn_url: HttpUrl | None = Field(
        None, description="Crossdock's URL for the partner's asynchronous MDNs "
                          "(Receipt-Delivery-Option); required when mdn_mode is async.")
    mdn_timeout_s: float = Field(
        3600.0, gt=0, description="Async MDNs: how long after a send its MDN may take before the "
                                  "interchange is sent again, with a new Message-ID.")
    mdn_resends: int = Field(3, ge=0, le=20,
                             description="Async MDNs: resends for a missing MDN before the "
                                         "interchange is failed and a case opened.")
    mdn_to: str = Field("edi@crossdock.invalid",
                        description="Disposition-Notification-To value we send.")
    mic_algorithm: MicAlgorithm = Field(MicAlgorithm.SHA256,
                                        description="MIC digest we ask the partner for.")
    connect_timeout_s: float = Field(10.0, gt=0, description="TCP connect timeout, seconds.")
    timeout_s: float = Field(60.0, gt=0, description="Whole-request timeout, MDN included.")
    mdn_hosts: tuple[str, ...] = Field(
        (), description="Hosts we may POST this partner's async MDNs to, besides the host "
                        "of ``url``; anything else named in Receipt-Delivery-Option is refused.")
    mdn_delivery: MdnDeliveryPolicy = Field(default_factory=MdnDeliveryPolicy,
                                            description="Retries for async MDNs we send.")
    sign: bool = Field(False, description="Sign outbound messages (S/MIME, CMS SignedData).")
    encrypt: bool = Field(False, description="Encrypt outbound messages (CMS EnvelopedData).")
    require_signed: bool = Field(False, description="Refuse inbound messages that are unsigned.")
    require_encrypted: bool = Field(False,
                                    description="Refuse inbound messages that are not encrypted.")
    encryption_algorithm: EncryptionAlgorithm = Field(EncryptionAlgorithm.AES256_CBC,
                                                      description="Outbound content cipher.")
    our_certificate_pem: str | None = Field(
        None, description="Our X.509 certificate (PEM), used for signing and decryption.")
    our_private_key_pem: SecretStr | None = Field(
        None, description="Our private key (PEM, unencrypted) matching our certificate.")
    partner_certificate_pem: str | None = Field(
        None, description="The partner's certificate (PEM): encrypts to them, verifies them.")

    @model_validator(mode="after")
    def _complete(self) -> AS2PartnerConfig:
        """Refuse at load time a configuration that could only fail on the wire."""
        missing = []
        if self.mdn_mode is MdnMode.ASYNC and self.async_mdn_url is None:
            missing.append("async_mdn_url (mdn_mode is async)")
        if self.sign and not (self.our_certificate_pem and self.our_private_key_pem):
            missing.append("our_certificate_pem and our_private_key_pem (sign)")
        if self.encrypt and not self.partner_certificate_pem:
            missing.append("partner_certificate_pem (encrypt)")
        if self.require_signed and not self.partner_certificate_pem:
            missing.append("partner_certificate_pem (require_signed)")
        if self.require_encrypted and not (self.our_certificate_pem and self.our_private_key_pem):
            missing.append("our_certificate_pem and our_private_key_pem (require_encrypted)")
        if missing:
            raise ValueError(f"AS2 partner {self.as2_id} needs " + "; ".join(missing))
        return self

    def mdn_host_allowed(self, host: str) -> bool:
        """Whether an async MDN for this partner may be POSTed to ``host``."""
        allowed = {h.lower() for h in self.mdn_hosts}
        if self.url is not None and self.url.host:
            allowed.add(self.url.host.lower())
        return host.lower() in allowed


PartnerProfiles: TypeAlias = (Mapping[str, AS2PartnerConfig]
                               | Callable[[str], AS2PartnerConfig | None])
"""Partner configs by their AS2 id: a mapping, or a function returning None when unknown."""


def lookup_partner(profiles: PartnerProfiles, as2_id: str) -> AS2PartnerConfig | None:
    """Find a partner's config by its AS2 id in a mapping or a lookup function."""
    if isinstance(profiles, Mapping):
        return profiles.get(as2_id)
    return profiles(as2_id)
