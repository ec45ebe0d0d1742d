"""Pinned SSH host keys: Crossdock talks only to the server whose key it was given.

A pin is written the way operators copy it: a known_hosts line, a bare public key
(``ssh-ed25519 AAAA…``) or an OpenSSH SHA256 fingerprint (``SHA256:…``). An unknown or
changed key is refused with :class:`HostKeyRejected`; nothing is ever added on first use.

Usage:
    pin = HostKeyPin.parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI…")
    pin.check(server_key, host="sftp.acme.example", port=22)
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import paramiko

from connectors.transports.sftp.errors import HostKeyRejected

__all__ = ["HostKeyPin", "PinnedKeyPolicy", "describe_key", "host_key_name"]

_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}=?$")


def describe_key(key: Any) -> str:
    """``ssh-ed25519 SHA256:…``: how a key is shown in errors and logs."""
    return f"{key.get_name()} {key.fingerprint}"


def host_key_name(host: str, port: int) -> str:
    """The known_hosts name of a server: ``host`` on port 22, else ``[host]:port``."""
    return host if port == 22 else f"[{host}]:{port}"


def _load_public_key(key_type: str, blob: str) -> Any:
    try:
        return paramiko.PKey.from_type_string(key_type, base64.b64decode(blob, validate=True))
    except paramiko.pkey.UnknownKeyType:
        raise ValueError(f"unknown host key type {key_type!r}") from None
    except (binascii.Error, ValueError, paramiko.SSHException) as exc:
        raise ValueError(f"not a valid {key_type} public key: {exc}") from None


@dataclass(frozen=True, slots=True)
class HostKeyPin:
    """One pinned host key: its fingerprint, and the public key itself when it was given."""

    fingerprint: str
    key: Any = None  # paramiko.PKey (public part only)
    hosts: tuple[str, ...] = ()  # host patterns of a known_hosts line, if one was given

    @property
    def expected(self) -> str:
        return describe_key(self.key) if self.key is not None else self.fingerprint

    @classmethod
    def parse(cls, text: str) -> HostKeyPin:
        """Read a known_hosts line, a ``type base64`` public key or a ``SHA256:`` fingerprint."""
        tokens = text.strip().split()
        if not tokens:
            raise ValueError("host_key is empty")
        if tokens[0].startswith("@"):
            raise ValueError(f"known_hosts markers such as {tokens[0]} are not supported")
        if len(tokens) == 1:
            if not _FINGERPRINT.match(tokens[0]):
                raise ValueError("expected 'SHA256:<43 base64 characters>', a public key "
                                 "'ssh-ed25519 AAAA…' or a known_hosts line")
            return cls(fingerprint=tokens[0].rstrip("="))
        if len(tokens) >= 3 and not tokens[0].startswith(("ssh-", "ecdsa-", "sk-")):
            key = _load_public_key(tokens[1], tokens[2])
            return cls(fingerprint=key.fingerprint, key=key, hosts=tuple(tokens[0].split(",")))
        key = _load_public_key(tokens[0], tokens[1])
        return cls(fingerprint=key.fingerprint, key=key)

    def names_host(self, host: str, port: int) -> bool:
        """Whether a known_hosts line is for this server (hashed names are taken on trust)."""
        if not self.hosts or any(h.startswith("|1|") for h in self.hosts):
            return True
        return host_key_name(host, port) in self.hosts or (port == 22 and host in self.hosts)

    def matches(self, presented: Any) -> bool:
        return bool(presented.fingerprint == self.fingerprint)

    def check(self, presented: Any, *, host: str, port: int, partner: str | None = None) -> None:
        """Raise :class:`HostKeyRejected` unless ``presented`` is the pinned key."""
        if not self.matches(presented):
            raise HostKeyRejected(host=host, port=port, expected=self.expected,
                                  presented=describe_key(presented), partner=partner)


class PinnedKeyPolicy(paramiko.RejectPolicy):  # type: ignore[misc]
    """paramiko's RejectPolicy, except that the one pinned key is accepted (never saved)."""

    def __init__(self, pin: HostKeyPin, *, host: str, port: int, partner: str | None) -> None:
        self.pin = pin
        self.host = host
        self.port = port
        self.partner = partner

    def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
        self.pin.check(key, host=self.host, port=self.port, partner=self.partner)
