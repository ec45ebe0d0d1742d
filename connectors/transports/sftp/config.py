"""How Crossdock trades files with one partner over SFTP.

One :class:`SftpConfig` per partner mailbox: where the server is, who we log in as,
which host key we trust, which folders we collect from, what we do with a file once its
bytes are safely in the inbox, and where we drop files for the partner.

Usage:
    config = SftpConfig(
        partner_id="ACME", host="sftp.acme.example", username="crossdock",
        private_key_path="/etc/crossdock/keys/acme", host_key="SHA256:…",
        inbound=[InboundDir(path="/out/orders", patterns=("*.edi",), document_type="850")],
        outbound_dir="/in",
    )
"""

from __future__ import annotations

import posixpath
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.base import ConnectorConfig
from connectors.transports.sftp.hostkey import HostKeyPin

__all__ = ["AfterStore", "InboundDir", "SftpConfig"]


class AfterStore(StrEnum):
    """What happens to a partner's file once its bytes are durable in the inbox."""

    MOVE = "move"  # rename into the archive folder (the default: nothing is destroyed)
    DELETE = "delete"


class InboundDir(BaseModel):
    """One remote folder Crossdock collects files from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(..., min_length=1, description="Absolute remote folder, e.g. /out/orders.")
    patterns: tuple[str, ...] = Field(
        ("*",), min_length=1,
        description="Shell-style file name patterns to collect (fnmatch, case-sensitive). "
                    "Names starting with a dot are never collected (uploads in progress).")
    document_type: str | None = Field(
        None, description="Document type hint for files from this folder (overrides the "
                          "connector-wide document_type), e.g. 850.")

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be an absolute remote path starting with /")
        return posixpath.normpath(value)


class SftpConfig(ConnectorConfig):
    """One partner's SFTP mailbox, seen from Crossdock's side."""

    partner_id: str = Field(..., min_length=1, max_length=64, title="Partner id",
                            description="The Crossdock partner every collected file belongs to.")
    host: str = Field(..., min_length=1, description="SFTP server name or IP address.")
    port: int = Field(22, ge=1, le=65535, description="SFTP server TCP port.")
    username: str = Field(..., min_length=1, description="User name Crossdock logs in as.")
    password: SecretStr | None = Field(
        None, description="Password for password authentication (secret, never logged).")
    private_key_path: Path | None = Field(
        None, description="File holding the private key for key authentication "
                          "(OpenSSH or PEM format).")
    private_key: SecretStr | None = Field(
        None, description="The private key itself, PEM/OpenSSH text, instead of "
                          "private_key_path (secret, never logged).")
    private_key_passphrase: SecretStr | None = Field(
        None, description="Passphrase of an encrypted private key (secret, never logged).")
    host_key: str = Field(
        ..., min_length=1, title="Pinned host key",
        description="The server's host key Crossdock trusts, and no other: a known_hosts "
                    "line, a public key 'ssh-ed25519 AAAA…' or a fingerprint 'SHA256:…'. "
                    "An unknown or changed key is refused, never added.")
    inbound: tuple[InboundDir, ...] = Field(
        (), description="Remote folders to collect files from, each with its name patterns.")
    settle_seconds: float = Field(
        5.0, ge=0,
        description="A file is collected only once its size and modification time stayed "
                    "the same across two looks at least this many seconds apart, so files "
                    "still being written are left alone. 0 collects at first sight.")
    after_store: AfterStore = Field(
        AfterStore.MOVE, description="What to do with a file once it is stored: move it to "
                                     "archive_dir or delete it.")
    archive_dir: str = Field(
        "archive", min_length=1,
        description="Where stored files are moved when after_store is move: absolute, or "
                    "relative to each inbound folder. Created when missing.")
    outbound_dir: str | None = Field(
        None, description="Absolute remote folder where files for the partner are uploaded.")
    connect_timeout_s: float = Field(15.0, gt=0,
                                     description="Seconds to open the connection and log in.")
    io_timeout_s: float = Field(
        60.0, gt=0, description="Seconds one SFTP request may wait for an answer before the "
                                "connection is treated as dropped.")
    reconnect_attempts: int = Field(
        5, ge=1, le=100, description="Connection attempts (first one included) before a poll "
                                     "or upload gives up as unavailable.")
    reconnect_initial_wait_s: float = Field(1.0, ge=0,
                                            description="First wait between reconnects, seconds.")
    reconnect_max_wait_s: float = Field(30.0, ge=0,
                                        description="Longest wait between reconnects, seconds.")
    poll_interval_s: float = Field(60.0, gt=0,
                                   description="How often the hub's scheduler polls this mailbox.")
    lease_ttl_s: float = Field(
        300.0, gt=0,
        description="How long one node's claim on a folder lasts without renewal; another "
                    "node takes over a folder only after this when a node dies mid-poll.")
    document_type: str | None = Field(
        None, description="Document type hint for every collected file, e.g. 850.")

    @field_validator("host_key")
    @classmethod
    def _pin_parses(cls, value: str) -> str:
        HostKeyPin.parse(value)
        return value.strip()

    @field_validator("outbound_dir")
    @classmethod
    def _outbound_absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("must be an absolute remote path starting with /")
        return None if value is None else posixpath.normpath(value)

    @model_validator(mode="after")
    def _consistent(self) -> SftpConfig:
        if self.password is None and self.private_key is None and self.private_key_path is None:
            raise ValueError("set password, private_key or private_key_path")
        if self.private_key is not None and self.private_key_path is not None:
            raise ValueError("set private_key or private_key_path, not both")
        if not self.pin.names_host(self.host, self.port):
            raise ValueError(f"host_key is a known_hosts line for {','.join(self.pin.hosts)}, "
                             f"not for {self.host}:{self.port}")
        return self

    @property
    def pin(self) -> HostKeyPin:
        """The parsed :attr:`host_key`."""
        return HostKeyPin.parse(self.host_key)

    def archive_for(self, inbound_path: str) -> str:
        """The archive folder for files collected from ``inbound_path``."""
        return posixpath.normpath(posixpath.join(inbound_path, self.archive_dir))
