"""The inbox: raw payloads stored durably, first, before anything can fail.

Implements ``connectors.base.Inbox`` for every transport. A payload is hashed while it
is spooled; small ones live in the database, large ones in a content-addressed blob
store (so a 200 MB file never sits in memory). The inbox row and the job that will
process it are written in one transaction; only then does ``store`` return and the
transport acknowledge its source.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Table, bindparam, insert, select

from canonical.errors import PermanentError
from connectors.base import Receipt, StoredReceipt
from hub.storage.db import Database
from hub.storage.tables import InboxEntry, Job

__all__ = ["BlobStore", "DatabaseInbox", "PayloadTooLarge"]

CHUNK = 1024 * 1024


class PayloadTooLarge(PermanentError):
    code = "inbound.too_large"


class BlobStore:
    """Content-addressed files: ``<root>/ab/abcdef…``; written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def read(self, relpath: str) -> bytes:
        return (self.root / relpath).read_bytes()

    def open(self, relpath: str) -> IO[bytes]:
        return (self.root / relpath).open("rb")

    def adopt(self, tmp: Path, sha256: str) -> str:
        final = self.path_for(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            tmp.unlink()
        else:
            os.replace(tmp, final)
        return str(final.relative_to(self.root))


_INBOX = cast(Table, InboxEntry.__table__)
_ORIGINAL = (select(_INBOX.c.id)
             .where(_INBOX.c.partner_id == bindparam("partner_id"), _INBOX.c.sha256 == bindparam("sha256"),
                    _INBOX.c.duplicate_of.is_(None))
             .order_by(_INBOX.c.id).limit(1))
_INSERT_ENTRY = insert(_INBOX).returning(_INBOX.c.id)
_JOBS = cast(Table, Job.__table__)
_INSERT_JOB = insert(_JOBS).returning(_JOBS.c.id)


class DatabaseInbox:
    """``store(receipt, body)`` → durable ``StoredReceipt``; ``on_stored(job_id)`` after commit.

    Usage:
        inbox = DatabaseInbox(db, blobs=BlobStore(Path("var/blobs")))
        stored = inbox.store(Receipt(partner_id="ACME", channel="http"), b"{...}")
    """

    def __init__(
        self,
        db: Database,
        *,
        blobs: BlobStore,
        inline_max: int = 1024 * 1024,
        max_bytes: int | None = None,
        on_stored: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.inline_max = inline_max
        self.max_bytes = max_bytes
        self.on_stored = on_stored

    def store(self, receipt: Receipt, body: bytes | IO[bytes]) -> StoredReceipt:
        raw, blob_tmp, sha, size = self._spool(body)
        try:
            stored, job_id = self._record(receipt, raw, blob_tmp, sha, size)
        finally:
            if blob_tmp is not None and blob_tmp.exists():
                blob_tmp.unlink()
        if job_id is not None and self.on_stored is not None:
            self.on_stored(job_id)
        return stored

    def _spool(self, body: bytes | IO[bytes]) -> tuple[bytes | None, Path | None, str, int]:
        if isinstance(body, bytes | bytearray | memoryview):
            data = bytes(body)
            self._check_size(len(data))
            if len(data) <= self.inline_max:
                return data, None, hashlib.sha256(data).hexdigest(), len(data)
            body = io.BytesIO(data)
        h = hashlib.sha256()
        size = 0
        self.blobs.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".spool-", dir=self.blobs.root)
        tmp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := body.read(CHUNK):
                    size += len(chunk)
                    self._check_size(size)
                    h.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if size <= self.inline_max:
            data = tmp.read_bytes()
            tmp.unlink()
            return data, None, h.hexdigest(), size
        return None, tmp, h.hexdigest(), size

    def _check_size(self, size: int) -> None:
        if self.max_bytes is not None and size > self.max_bytes:
            raise PayloadTooLarge(
                f"payload of more than {self.max_bytes} bytes refused (limit CROSSDOCK_MAX_BODY_BYTES)",
                details={"limit": self.max_bytes},
            )

    def _record(
        self, receipt: Receipt, raw: bytes | None, blob_tmp: Path | None, sha: str, size: int
    ) -> tuple[StoredReceipt, int | None]:
        row: dict[str, Any] = {
            "partner_id": receipt.partner_id, "channel": receipt.channel,
            "document_type": receipt.document_type, "content_type": receipt.content_type,
            "filename": receipt.filename, "sha256": sha, "size": size,
            "correlation_id": receipt.correlation_id, "meta": dict(receipt.meta),
            "duplicate_of": None, "status": "received", "raw": None, "blob_path": None,
        }
        # Core statements built once: this runs for every receipt, and the ORM's unit of work
        # cost more than the two inserts
        with self.db.session() as s:
            original = s.scalar(_ORIGINAL, {"partner_id": receipt.partner_id, "sha256": sha})
            if original is not None:
                # A transport replay: archived (the bytes are the original's), not processed.
                row.update(duplicate_of=original, status="duplicate")
                entry_id = s.scalar(_INSERT_ENTRY, row)
                return StoredReceipt(entry_id, sha, size, duplicate_of=original), None
            if blob_tmp is not None:
                row["blob_path"] = self.blobs.adopt(blob_tmp, sha)
            else:
                row["raw"] = raw
            entry_id = s.scalar(_INSERT_ENTRY, row)
            job_id = s.scalar(_INSERT_JOB, {"kind": "ingest", "inbox_id": entry_id, "partner_id": receipt.partner_id})
            return StoredReceipt(entry_id, sha, size), job_id

