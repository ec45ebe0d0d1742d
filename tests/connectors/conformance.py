"""The conformance suite every inbound connector passes, against the hub's real inbox.

A connector's test module subclasses :class:`SourceConformance` and provides one fixture,
``harness``, returning a :class:`SourceHarness`: how to build a valid config, how to put
a payload at the connector's source (a file on a server, a request a partner is about to
send), how to let the connector take what is there into a given inbox, and whether the
source still holds a payload unacknowledged. The suite then checks what every transport
owes its users:

* raw first: the payload is in the inbox before the source is acknowledged, and a failed
  store leaves the payload at the source;
* a crash between store and acknowledgement: the redelivery is recognised as already seen
  (``duplicate_of``), nothing is processed twice, and the source is then acknowledged;
* bad configuration is refused by a pydantic ``ValidationError`` naming the field;
* secrets never reach logs, stdout or stderr, even at DEBUG;
* memory stays flat on a large payload (``large_payload_bytes``, 50 MB by default).

Usage (a connector's test module)::

    from tests.connectors.conformance import Hub, SourceConformance

    class TestDirectoryConformance(SourceConformance):
        @pytest.fixture
        def harness(self, hub: Hub, tmp_path: Path) -> SourceHarness:
            return DirectoryHarness(hub, tmp_path)

The ``hub`` fixture (a fresh SQLite hub under ``tmp_path``) comes with the suite; use
:func:`make_hub` for the same hub elsewhere.

A pull connector (REST polling, SOAP polling) cannot serve arbitrary bytes: its harness
also implements the optional hooks of :class:`PullHarness` — ``make_payload`` (a page or
response the source can serve), ``expected_stored`` (what the inbox must then hold) and
``write_large_payload`` (a large one, written to a file). For such a source "pending"
means the next poll would fetch the payload again (its saved cursor has not moved past
it), and "acknowledged" means the cursor was saved past it. A connector that parses a
whole page in memory declares the page size it is tested with and the bound it keeps
(``large_payload_bytes``, ``memory_budget_ratio`` on its test class): the large-payload
test then proves that bound instead of being skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from connectors.base import ConnectorConfig, Inbox, Receipt, StoredReceipt
from hub.inbox import BlobStore, DatabaseInbox
from hub.state import DatabaseStateStore
from hub.storage.db import Database
from hub.storage.tables import InboxEntry, Job
from tests.support.services import sqlite_database

__all__ = [
    "CrashAfterStore",
    "Hub",
    "InboxDown",
    "PullHarness",
    "SourceConformance",
    "SourceHarness",
    "make_hub",
    "write_payload_file",
]


class SourceHarness(Protocol):
    """What the suite needs to drive one inbound connector against a real source."""

    @property
    def config_model(self) -> type[ConnectorConfig]:
        """The connector's config class."""
        ...

    @property
    def secrets(self) -> Sequence[str]:
        """Every secret the connector uses while taking (passwords, keys, tokens)."""
        ...

    @property
    def invalid_values(self) -> Sequence[tuple[str, Any]]:
        """``(field, value)`` pairs the config must refuse, naming ``field``."""
        ...

    def valid_config(self) -> dict[str, Any]:
        """Raw config data (as an operator writes it) that validates."""
        ...

    def offer(self, name: str, payload: bytes | Path) -> None:
        """Put a payload (bytes, or a local file holding it) at the source under ``name``."""
        ...

    def take(self, inbox: Inbox) -> None:
        """Let the connector take what the source holds into ``inbox``, once.

        May raise when the inbox does; a push connector sends the offered requests here.
        """
        ...

    def pending(self, name: str) -> bool:
        """Whether the source still holds ``name`` unacknowledged (it would be delivered again)."""
        ...


class PullHarness(SourceHarness, Protocol):
    """Optional hooks for a source that serves only its own format (see module docs)."""

    def make_payload(self, label: str) -> bytes:
        """A new, unique payload the source can serve (a JSON page, a SOAP response)."""
        ...

    def expected_stored(self, payload: bytes) -> bytes:
        """The bytes the inbox must hold once ``payload`` was taken (default: ``payload``)."""
        ...

    def write_large_payload(self, path: Path, size: int) -> str:
        """Write a servable payload of exactly ``size`` bytes to ``path``; the sha256 to be stored."""
        ...


@dataclass
class Hub:
    """A real hub inbox and state store on a SQLite file."""

    db: Database
    inbox: DatabaseInbox
    state: DatabaseStateStore

    def rows(self, partner_id: str | None = None) -> list[InboxEntry]:
        with self.db.reader() as s:
            query = select(InboxEntry).order_by(InboxEntry.id)
            if partner_id is not None:
                query = query.where(InboxEntry.partner_id == partner_id)
            rows = list(s.scalars(query))
            s.expunge_all()  # detached, still readable after the session closes
            return rows

    def jobs(self) -> int:
        with self.db.reader() as s:
            return int(s.scalar(select(func.count()).select_from(Job)) or 0)

    def sha256_of(self, row: InboxEntry) -> str:
        """Hash of the stored bytes themselves (inline or in the blob store)."""
        if row.raw is not None:
            return hashlib.sha256(row.raw).hexdigest()
        assert row.blob_path is not None, f"inbox row {row.id} holds no bytes"
        digest = hashlib.sha256()
        with self.inbox.blobs.open(row.blob_path) as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()


def make_hub(root: Path) -> Hub:
    url = sqlite_database(root / "hub.db")
    db = Database(url)
    return Hub(db, DatabaseInbox(db, blobs=BlobStore(root / "blobs")), DatabaseStateStore(db))


def write_payload_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path`` in 1 MiB chunks; returns their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            digest.update(chunk)
            fh.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


class InboxDown(RuntimeError):
    """The inbox failed to store (a full disk, a lost database)."""


class CrashAfterStore(RuntimeError):
    """The process died right after the inbox committed, before the source was acknowledged."""


class _Inbox:
    """Wraps the real inbox: observe each store, or fail before or after it."""

    def __init__(self, real: Inbox, *, fail: type[Exception] | None = None, crash: bool = False,
                 after_store: Callable[[StoredReceipt], None] | None = None) -> None:
        self.real, self.fail, self.crash, self.after_store = real, fail, crash, after_store

    def store(self, receipt: Receipt, body: bytes | IO[bytes]) -> StoredReceipt:
        if self.fail is not None:
            raise self.fail("inbox unavailable (conformance suite)")
        return self._after(self.real.store(receipt, body))

    async def store_async(self, receipt: Receipt, body: bytes) -> StoredReceipt:
        """The HTTP route's path (receipts of concurrent requests committed together)."""
        if self.fail is not None:
            raise self.fail("inbox unavailable (conformance suite)")
        return self._after(await self.real.store_async(receipt, body))  # type: ignore[attr-defined]

    def _after(self, stored: StoredReceipt) -> StoredReceipt:
        if self.after_store is not None:
            self.after_store(stored)
        if self.crash:
            raise CrashAfterStore(f"crash after storing receipt {stored.receipt_id}")
        return stored


def _unique(label: str) -> tuple[str, bytes]:
    token = uuid.uuid4().hex
    return f"{label}-{token[:8]}.edi", f"ISA*conformance*{label}*{token}~".encode()


def _offer(harness: SourceHarness, label: str) -> tuple[str, str, int]:
    """Offer a unique payload (the harness's own, when it makes one); name, stored sha256, size."""
    name, payload = _unique(label)
    make = getattr(harness, "make_payload", None)
    if make is not None:
        payload = make(label)
    harness.offer(name, payload)
    expected = getattr(harness, "expected_stored", None)
    stored = payload if expected is None else expected(payload)
    return name, hashlib.sha256(stored).hexdigest(), len(stored)


class SourceConformance:
    """Inherit in a ``Test…`` class and provide the ``harness`` fixture (see module docs)."""

    large_payload_bytes: ClassVar[int] = 50 * 1024 * 1024
    memory_budget_ratio: ClassVar[float] = 0.2  # peak traced memory / payload size

    @pytest.fixture
    def hub(self, tmp_path: Path) -> Iterator[Hub]:
        hub = make_hub(tmp_path / "hub")
        yield hub
        hub.db.dispose()

    def test_raw_is_stored_before_the_source_is_acknowledged(
        self, harness: SourceHarness, hub: Hub
    ) -> None:
        name, sha, size = _offer(harness, "raw-first")
        pending_at_store: list[bool] = []
        harness.take(_Inbox(hub.inbox, after_store=lambda _: pending_at_store.append(
            harness.pending(name))))
        assert pending_at_store == [True], "the source was acknowledged before the store returned"
        assert not harness.pending(name), "stored, but the source was never acknowledged"
        (row,) = hub.rows()
        assert row.sha256 == sha == hub.sha256_of(row)
        assert row.size == size and row.duplicate_of is None

    def test_a_failed_store_leaves_the_payload_at_the_source(
        self, harness: SourceHarness, hub: Hub
    ) -> None:
        name, sha, _ = _offer(harness, "store-fails")
        with contextlib.suppress(Exception):
            harness.take(_Inbox(hub.inbox, fail=InboxDown))
        assert harness.pending(name), "the source was acknowledged although nothing was stored"
        assert hub.rows() == []
        harness.take(hub.inbox)  # the inbox is back: the payload arrives, once
        assert not harness.pending(name)
        assert [r.sha256 for r in hub.rows()] == [sha]

    def test_redelivery_after_a_crash_is_already_seen_and_then_acknowledged(
        self, harness: SourceHarness, hub: Hub
    ) -> None:
        name, sha, _ = _offer(harness, "crash")
        with contextlib.suppress(Exception):
            harness.take(_Inbox(hub.inbox, crash=True))
        assert harness.pending(name), "acknowledged although the process crashed first"
        harness.take(hub.inbox)
        assert not harness.pending(name), "the redelivery was never acknowledged"
        first, again = hub.rows()
        assert first.duplicate_of is None and again.duplicate_of == first.id
        assert first.sha256 == again.sha256 == sha
        assert hub.jobs() == 1, "the redelivered payload was queued for processing twice"

    def test_bad_config_is_refused_naming_the_field(self, harness: SourceHarness) -> None:
        model, valid = harness.config_model, harness.valid_config()
        model.model_validate(valid)
        cases: list[tuple[str, dict[str, Any]]] = [
            ("no_such_option", {**valid, "no_such_option": 1}),
            *[(f, {k: v for k, v in valid.items() if k != f})
              for f, info in model.model_fields.items() if info.is_required()],
            *[(f, {**valid, f: bad}) for f, bad in harness.invalid_values],
        ]
        for field_name, data in cases:
            with pytest.raises(ValidationError) as caught:
                model.model_validate(data)
            locations = [str(part) for e in caught.value.errors() for part in e["loc"]]
            assert field_name in locations, f"error for {field_name!r} names {locations}"

    def test_secrets_never_reach_logs_or_output(
        self, harness: SourceHarness, hub: Hub, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str],
    ) -> None:
        assert harness.secrets, "the harness must name the secrets it connects with"
        caplog.set_level(logging.DEBUG)
        name, _, _ = _offer(harness, "secrets")
        harness.take(hub.inbox)
        assert not harness.pending(name)
        config = harness.config_model.model_validate(harness.valid_config())
        out, err = capfd.readouterr()
        seen = "\n".join([caplog.text, out, err, repr(config), str(config),
                          config.model_dump_json()])
        assert caplog.records, "nothing was logged at DEBUG: the check would prove nothing"
        for secret in harness.secrets:
            assert secret not in seen, "a secret was logged or printed"

    @pytest.mark.slow
    def test_memory_stays_flat_on_a_large_payload(
        self, harness: SourceHarness, hub: Hub, tmp_path: Path
    ) -> None:
        harness.take(hub.inbox)  # warm up: imports and a first connection are not the payload's
        big = tmp_path / "large-payload"
        write_large = getattr(harness, "write_large_payload", write_payload_file)
        sha = write_large(big, self.large_payload_bytes)
        harness.offer("large.bin", big)
        big.unlink()
        tracemalloc.start()
        try:
            harness.take(hub.inbox)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert not harness.pending("large.bin")
        (row,) = hub.rows()
        assert (row.size, row.sha256) == (self.large_payload_bytes, sha)
        budget = self.large_payload_bytes * self.memory_budget_ratio
        assert peak < budget, f"peak {peak / 2**20:.1f} MiB for a {row.size / 2**20:.0f} MiB payload"
