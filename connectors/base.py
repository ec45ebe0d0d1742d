"""What every connector is, and the one thing it may rely on: an inbox that stores raw first.

A transport (AS2, HTTP, SFTP, directory, REST polling, SOAP) moves bytes. It hands each
payload to an :class:`Inbox`, which stores the raw bytes durably and only then returns;
the transport acknowledges its source (HTTP 2xx, MDN, SFTP move/delete) after that and
never before. Parsing is a codec's job (``connectors.formats``), not a transport's.

The hub implements :class:`Inbox`; connectors never import the hub.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

__all__ = ["Connector", "ConnectorConfig", "Inbox", "Receipt", "StateStore", "StoredReceipt"]


@dataclass(slots=True)
class Receipt:
    """Where a payload came from. The bytes travel beside it, never inside."""

    partner_id: str
    channel: str  # "http", "as2", "sftp", "directory", "rest_poll", "soap", "cli", ...
    document_type: str | None = None  # a hint when the channel knows it (URL, folder)
    content_type: str | None = None
    filename: str | None = None
    correlation_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    """The inbox's answer: the payload is durable under ``receipt_id``.

    ``duplicate_of`` is set when the same partner sent the very same bytes before (a
    transport replay): the new receipt is archived, nothing behind it is processed again.
    """

    receipt_id: int
    sha256: str
    size: int
    duplicate_of: int | None = None

    @property
    def already_seen(self) -> bool:
        return self.duplicate_of is not None


@runtime_checkable
class Inbox(Protocol):
    """Durable raw storage. ``store`` returns only once the payload is committed."""

    def store(self, receipt: Receipt, body: bytes | IO[bytes]) -> StoredReceipt: ...


@runtime_checkable
class StateStore(Protocol):
    """Durable connector state (polling cursors, last-seen markers) and leases.

    A polling connector saves its cursor after each page is stored, so a restart resumes
    where it left off; ``try_lease`` lets only one node at a time work a source.
    """

    def get_state(self, key: str) -> dict[str, Any] | None: ...

    def put_state(self, key: str, value: dict[str, Any]) -> None: ...

    def try_lease(self, key: str, owner: str, ttl_seconds: float) -> bool: ...

    def release_lease(self, key: str, owner: str) -> None: ...


class ConnectorConfig(BaseModel):
    """Base of every connector's configuration: documented fields, secrets as ``SecretStr``."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Connector(abc.ABC):
    """A connector declares what it is; behaviour lives in a few hooks.

    Subclasses set ``kind`` and ``config_model`` and implement the hooks their direction
    needs (``poll`` for pull-based sources).
    """

    kind: ClassVar[str]
    config_model: ClassVar[type[ConnectorConfig]]

    def __init__(self, *, partner_id: str, config: ConnectorConfig, inbox: Inbox) -> None:
        self.partner_id = partner_id
        self.config = config
        self.inbox = inbox

    @abc.abstractmethod
    def poll(self) -> int:
        """Take in what the source has; returns how many payloads were stored."""
