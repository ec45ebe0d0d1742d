"""Just enough DER/BER to read one SignerInfo out of a CMS SignedData (RFC 5652 section 5).

Indefinite lengths (BER, as OpenSSL writes streamed S/MIME) are read on constructed
elements; the signed attributes are DER by rule, so their bytes are used as sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes

__all__ = ["DerError", "SignerInfo", "read_signer_info"]

_SEQUENCE, _SET, _OCTETS, _OID = 0x30, 0x31, 0x04, 0x06
_CTX0_CONS = 0xA0
_SIGNED_DATA = "1.2.840.113549.1.7.2"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256, "1.3.14.3.2.26": hashes.SHA1,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384, "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}


class DerError(ValueError):
    """The signature is not a DER CMS SignedData this reader understands."""


@dataclass(frozen=True, slots=True)
class _Tlv:
    tag: int
    start: int  # first byte of the whole element
    body: int  # first byte of the content
    end: int  # one past the content (an indefinite length's end-of-contents excluded)
    after: int  # one past the whole element


def _read(data: bytes, pos: int) -> _Tlv:
    if pos + 2 > len(data):
        raise DerError("truncated DER element")
    tag, first = data[pos], data[pos + 1]
    if tag & 0x1F == 0x1F:
        raise DerError("high-tag-number DER elements are not supported")
    at = pos + 2
    if first == 0x80:
        if not tag & 0x20:
            raise DerError("indefinite length on a primitive element")
        cursor = at
        while data[cursor:cursor + 2] != b"\x00\x00":
            cursor = _read(data, cursor).after
        return _Tlv(tag, pos, at, cursor, cursor + 2)
    if first & 0x80:
        count = first & 0x7F
        length = int.from_bytes(data[at:at + count], "big")
        at += count
    else:
        length = first
    if at + length > len(data):
        raise DerError("DER length runs past the end of the signature")
    return _Tlv(tag, pos, at, at + length, at + length)


def _children(data: bytes, tlv: _Tlv) -> list[_Tlv]:
    out, pos = [], tlv.body
    while pos < tlv.end:
        child = _read(data, pos)
        out.append(child)
        pos = child.after
    return out


def _oid(data: bytes, tlv: _Tlv) -> str:
    if tlv.tag != _OID:
        raise DerError("expected an OBJECT IDENTIFIER")
    raw = data[tlv.body:tlv.end]
    parts, value = [raw[0] // 40, raw[0] % 40], 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """The parts of the first SignerInfo a verifier needs."""

    digest_oid: str
    signature: bytes
    signed_attributes: bytes | None  # re-tagged as SET OF, ready to verify
    message_digest: bytes | None

    def hash_algorithm(self) -> hashes.HashAlgorithm:
        try:
            return _DIGESTS[self.digest_oid]()
        except KeyError:
            raise DerError(f"unsupported digest algorithm {self.digest_oid}") from None


def read_signer_info(der: bytes) -> SignerInfo:
    """Read the first SignerInfo of a DER ``ContentInfo { SignedData }``."""
    outer = _read(der, 0)
    content_info = _children(der, outer)
    if outer.tag != _SEQUENCE or len(content_info) < 2 or \
            _oid(der, content_info[0]) != _SIGNED_DATA:
        raise DerError("not a CMS SignedData")
    signed_data = _children(der, _children(der, content_info[1])[0])
    signer_infos = signed_data[-1]
    if signer_infos.tag != _SET or not _children(der, signer_infos):
        raise DerError("SignedData has no SignerInfo")
    fields = _children(der, _children(der, signer_infos)[0])
    digest_oid = _oid(der, _children(der, fields[2])[0])
    attrs: bytes | None = None
    digest: bytes | None = None
    rest = fields[3:]
    if rest and rest[0].tag == _CTX0_CONS:
        attr_tlv = rest[0]
        if attr_tlv.end != attr_tlv.after:
            raise DerError("signed attributes must be DER (definite length)")
        attrs = bytes([_SET]) + der[attr_tlv.start + 1:attr_tlv.end]
        for attr in _children(der, attr_tlv):
            oid_tlv, values = _children(der, attr)[:2]
            if _oid(der, oid_tlv) == _MESSAGE_DIGEST:
                value = _children(der, values)[0]
                digest = der[value.body:value.end]
        rest = rest[1:]
    if len(rest) < 2 or rest[1].tag != _OCTETS:
        raise DerError("SignerInfo has no signature")
    signature = der[rest[1].body:rest[1].end]
    if attrs is not None and digest is None:
        raise DerError("signed attributes carry no messageDigest")
    return SignerInfo(digest_oid, signature, attrs, digest)
