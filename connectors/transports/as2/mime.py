"""MIME on bytes, exactly: AS2 hashes and signs entities, so nothing may be re-serialised.

The stdlib ``email`` package parses headers well but rewrites bodies (line endings,
folding) when it serialises them, which breaks a MIC or a signature. Here headers go
through ``email`` and bodies stay the bytes that arrived.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import quopri
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser

__all__ = ["MimeEntity", "MimeError", "compute_mic", "entity_from_http", "parse_entity",
           "split_multipart"]

_DIGESTS = {"sha256": hashlib.sha256, "sha-256": hashlib.sha256,
            "sha1": hashlib.sha1, "sha-1": hashlib.sha1}
# The MIME headers an AS2 sender puts on the HTTP request that describe the entity.
_ENTITY_HEADERS = ("Content-Type", "Content-Transfer-Encoding", "Content-Disposition",
                   "Content-ID", "Content-Description", "MIME-Version")


class MimeError(ValueError):
    """The bytes are not the MIME entity they claim to be."""


def compute_mic(data: bytes, algorithm: str) -> str:
    """Base64 digest of ``data`` with ``sha256``/``sha1`` (``sha-256`` spellings accepted).

    Usage:
        compute_mic(b"ISA*00*...", "sha256")  # -> "fryTdG...="
    """
    try:
        digest = _DIGESTS[algorithm.strip().lower()]
    except KeyError:
        raise MimeError(f"unsupported MIC algorithm {algorithm!r} (sha256 or sha1)") from None
    return base64.b64encode(digest(data).digest()).decode("ascii")


@dataclass(frozen=True, slots=True)
class MimeEntity:
    """One MIME entity: parsed headers, the body bytes as sent, and the whole as sent."""

    headers: Message
    body: bytes
    raw: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type()

    def param(self, name: str, header: str = "Content-Type") -> str | None:
        value = self.headers.get_param(name, header=header)
        if value is None or isinstance(value, str):
            return value
        return str(value[2])

    @property
    def filename(self) -> str | None:
        if "Content-Disposition" in self.headers:
            name = self.param("filename", "Content-Disposition")
            if name:
                return name
        return self.param("name")

    @property
    def is_multipart(self) -> bool:
        return self.content_type.startswith("multipart/")

    def decoded(self) -> bytes:
        """The body with its Content-Transfer-Encoding undone."""
        cte = str(self.headers.get("Content-Transfer-Encoding", "binary")).strip().lower()
        if cte in ("binary", "7bit", "8bit", ""):
            return self.body
        if cte == "base64":
            try:
                return base64.b64decode(b"".join(self.body.split()), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise MimeError(f"body is not valid base64: {exc}") from exc
        if cte == "quoted-printable":
            return quopri.decodestring(self.body)
        raise MimeError(f"unknown Content-Transfer-Encoding {cte!r}")

    def parts(self) -> list[MimeEntity]:
        """The parts of a multipart entity, each with its exact bytes."""
        boundary = self.param("boundary")
        if not self.is_multipart or not boundary:
            raise MimeError(f"{self.content_type} is not multipart with a boundary")
        return [parse_entity(part) for part in split_multipart(self.body, boundary)]


def _split_head(raw: bytes) -> tuple[bytes, bytes]:
    for lead in (b"\r\n", b"\n"):
        if raw.startswith(lead):  # no headers at all
            return b"", raw[len(lead):]
    found = [(at, sep) for sep in (b"\r\n\r\n", b"\n\n") if (at := raw.find(sep)) >= 0]
    if not found:
        raise MimeError("no blank line between MIME headers and body")
    at, sep = min(found)
    return raw[: at + len(sep)], raw[at + len(sep):]


def parse_entity(raw: bytes) -> MimeEntity:
    """Parse ``headers CRLF CRLF body`` without touching the body bytes."""
    head, body = _split_head(raw)
    headers = BytesHeaderParser().parsebytes(head)
    return MimeEntity(headers=headers, body=body, raw=raw)


def entity_from_http(headers: Mapping[str, str], body: bytes) -> MimeEntity:
    """The MIME entity an AS2 POST carries: its Content-* headers and its body."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if not lowered.get("content-type", "").strip():
        raise MimeError("Content-Type header is missing")
    message = Message()
    for name in _ENTITY_HEADERS:
        value = lowered.get(name.lower())
        if value:
            message[name] = value
    if "/" not in lowered["content-type"].split(";")[0]:
        raise MimeError(f"Content-Type {lowered['content-type']!r} is not a MIME type")
    head = b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in message.items())
    return MimeEntity(headers=message, body=body, raw=head + b"\r\n" + body)


def split_multipart(body: bytes, boundary: str) -> list[bytes]:
    """Split a multipart body on its boundary, keeping each part's bytes exactly.

    The CRLF before each delimiter belongs to the delimiter (RFC 2046 section 5.1.1).
    """
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        raise MimeError(f"multipart body has no parts delimited by {boundary!r}")
    parts: list[bytes] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        # Transport padding and the line end after the delimiter, then the part.
        nl = chunk.find(b"\n")
        part = chunk[nl + 1:] if nl >= 0 else b""
        if part.endswith(b"\r\n"):
            part = part[:-2]
        elif part.endswith(b"\n"):
            part = part[:-1]
        parts.append(part)
    else:
        raise MimeError(f"multipart body does not end with --{boundary}--")
    if not parts:
        raise MimeError("multipart body has no parts")
    return parts
