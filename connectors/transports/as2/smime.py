"""S/MIME for AS2 with the ``cryptography`` package: sign, verify, encrypt, decrypt.

``cryptography`` builds CMS SignedData and EnvelopedData and decrypts EnvelopedData, but
has no CMS signature verification. :func:`verify_detached` therefore reads the DER
SignedData itself (:mod:`._der`) and checks it against the partner's *pinned*
certificate; certificates inside the signature are never trusted.
"""

from __future__ import annotations

import base64
import contextlib
import secrets

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7

from connectors.transports.as2 import _der
from connectors.transports.as2.config import AS2PartnerConfig, EncryptionAlgorithm
from connectors.transports.as2.errors import AS2SecurityError
from connectors.transports.as2.mime import MimeEntity, MimeError, parse_entity

__all__ = ["decrypt_entity", "encrypt_entity", "sign_entity", "verify_detached"]

_MICALG = {"sha256": "sha-256", "sha1": "sha-1"}


def _certificate(pem: str | None, what: str, partner: str) -> x509.Certificate:
    if not pem:
        raise AS2SecurityError(f"no {what} certificate configured for AS2 partner {partner}",
                               partner=partner)
    return x509.load_pem_x509_certificate(pem.encode("ascii"))


def _our_key(config: AS2PartnerConfig) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if config.our_private_key_pem is None:
        raise AS2SecurityError(f"no private key configured for AS2 partner {config.as2_id}",
                               partner=config.as2_id)
    key = serialization.load_pem_private_key(
        config.our_private_key_pem.get_secret_value().encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise AS2SecurityError("our AS2 key must be RSA or EC", partner=config.as2_id)
    return key


def sign_entity(entity: bytes, config: AS2PartnerConfig, *,
                algorithm: str | None = None) -> tuple[str, bytes]:
    """Wrap a MIME entity (headers + body) in multipart/signed: (Content-Type, body).

    Usage:
        content_type, body = sign_entity(b"Content-Type: application/edi-x12\\r\\n\\r\\n...", cfg)
    """
    cert = _certificate(config.our_certificate_pem, "our", config.as2_id)
    algorithm = algorithm or config.mic_algorithm.value
    if algorithm != "sha256":
        # cryptography's CMS signer refuses SHA-1, and micalg must name the signing digest.
        raise AS2SecurityError(f"signing for {config.as2_id} needs mic_algorithm sha256, "
                               f"not {algorithm}", partner=config.as2_id)
    signature = (pkcs7.PKCS7SignatureBuilder().set_data(entity)
                 .add_signer(cert, _our_key(config), hashes.SHA256())
                 .sign(serialization.Encoding.DER,
                       [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]))
    boundary = f"----=_crossdock_{secrets.token_hex(12)}"
    b64 = base64.encodebytes(signature).replace(b"\n", b"\r\n")
    body = (f"--{boundary}\r\n".encode() + entity + f"\r\n--{boundary}\r\n".encode()
            + b"Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
              b"Content-Transfer-Encoding: base64\r\n"
              b"Content-Disposition: attachment; filename=smime.p7s\r\n\r\n"
            + b64 + f"--{boundary}--\r\n".encode())
    content_type = (f'multipart/signed; protocol="application/pkcs7-signature"; '
                    f'micalg={_MICALG[algorithm]}; boundary="{boundary}"')
    return content_type, body


def verify_detached(signed: bytes, signature: bytes, config: AS2PartnerConfig, *,
                    message_id: str | None = None) -> None:
    """Check a detached CMS signature over ``signed`` with the partner's pinned certificate."""
    cert = _certificate(config.partner_certificate_pem, "partner", config.as2_id)
    try:
        info = _der.read_signer_info(signature)
        digest = hashes.Hash(info.hash_algorithm())
        digest.update(signed)
        if info.message_digest is not None and digest.finalize() != info.message_digest:
            raise InvalidSignature("content digest differs from the signed messageDigest")
        data = info.signed_attributes if info.signed_attributes is not None else signed
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(info.signature, data, padding.PKCS1v15(), info.hash_algorithm())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(info.signature, data, ec.ECDSA(info.hash_algorithm()))
        else:
            raise InvalidSignature("partner certificate key is neither RSA nor EC")
    except (InvalidSignature, _der.DerError) as exc:
        raise AS2SecurityError(f"signature from {config.as2_id} does not verify: {exc}",
                               modifier="authentication-failed", partner=config.as2_id,
                               message_id=message_id) from exc


def encrypt_entity(entity: bytes, config: AS2PartnerConfig) -> tuple[str, bytes]:
    """Encrypt a MIME entity to the partner's certificate: (Content-Type, DER body)."""
    cert = _certificate(config.partner_certificate_pem, "partner", config.as2_id)
    cipher = (algorithms.AES256 if config.encryption_algorithm
              is EncryptionAlgorithm.AES256_CBC else algorithms.AES128)
    der = (pkcs7.PKCS7EnvelopeBuilder().set_data(entity).add_recipient(cert)
           .set_content_encryption_algorithm(cipher)
           .encrypt(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary]))
    return 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"', der


def decrypt_entity(data: bytes, config: AS2PartnerConfig, *,
                   message_id: str | None = None) -> MimeEntity:
    """Decrypt CMS EnvelopedData (DER, or base64 of it) to the MIME entity inside."""
    cert = _certificate(config.our_certificate_pem, "our", config.as2_id)
    if data[:1] != b"\x30":
        with contextlib.suppress(ValueError):
            data = base64.b64decode(b"".join(data.split()), validate=True)
    key = _our_key(config)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AS2SecurityError("decryption needs an RSA key", partner=config.as2_id,
                               modifier="decryption-failed", message_id=message_id)
    try:
        plain = pkcs7.pkcs7_decrypt_der(data, cert, key, [])
        return parse_entity(plain)
    except (ValueError, MimeError) as exc:
        raise AS2SecurityError(f"message from {config.as2_id} cannot be decrypted: {exc}",
                               modifier="decryption-failed", partner=config.as2_id,
                               message_id=message_id) from exc
