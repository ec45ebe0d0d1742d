"""The inbox: raw payloads stored durably, first, before anything can fail.

Implements ``connectors.base.Inbox`` for every transport. A payload is hashed while it
is spooled; small ones live in the database, large ones in a content-addressed blob
store (so a 200 MB file never sits in memory). The inbox row and the job that will
process it are written in one transaction; only then does ``store`` return and the
transport acknowledge its source.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

import structlog
from anyio import to_thread
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from canonical.errors import PermanentError
from connectors.base import Receipt, StoredReceipt
from hub.storage.db import Database
from hub.storage.tables import InboxEntry, Job

__all__ = ["BlobStore", "DatabaseInbox", "PayloadTooLarge"]

log = structlog.get_logger("crossdock.inbox")

CHUNK = 1024 * 1024
GROUP_MAX = 64  # receipts in one group commit at most


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
# A group commit's inserts (``DatabaseInbox._record_group``): many rows in one INSERT on
# PostgreSQL, their ids back in the rows' order
_INSERT_ENTRIES = insert(_INBOX).returning(_INBOX.c.id, sort_by_parameter_order=True)
_JOBS = cast(Table, Job.__table__)
_INSERT_JOB = insert(_JOBS).returning(_JOBS.c.id)
_INSERT_JOBS = insert(_JOBS).returning(_JOBS.c.id, sort_by_parameter_order=True)


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
        self._writer: _GroupCommit | None = None

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

    async def store_async(self, receipt: Receipt, body: bytes) -> StoredReceipt:
        """``store`` for the event loop: answers once the receipt is committed, like ``store``.

        A body that stays inline joins the next group commit: one writer thread writes the
        receipts of concurrent requests in one transaction (a thread hop, a write turn and a
        commit per group instead of per request). Bigger ones spool to a blob in a thread, as
        ``store`` does.
        """
        data = bytes(body)
        self._check_size(len(data))
        if len(data) > self.inline_max:
            return await to_thread.run_sync(self.store, receipt, data)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[StoredReceipt] = loop.create_future()
        self._group_commit().put((receipt, data, loop, future))
        return await future

    def _group_commit(self) -> _GroupCommit:
        writer = self._writer
        if writer is None:
            with _WRITER_LOCK:
                if self._writer is None:
                    self._writer = _GroupCommit(self)
                writer = self._writer
        return writer

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
        with self.db.session() as s:
            return self._record_in(s, receipt, raw, blob_tmp, sha, size)

    def _record_group(self, items: list[tuple[Receipt, bytes]]) -> list[tuple[StoredReceipt, int | None]]:
        """Inline receipts in one transaction, in order (a replay later in the group finds an
        earlier one as its original, as it would one transaction later).

        A look per receipt for the original of bytes sent before, then one INSERT of all the
        receipts (ids in the group's order) and one of their jobs. A group with the same
        bytes twice from one partner is written receipt by receipt instead, so the second
        finds the first as its original. (One look for the whole group, by IN lists, was
        tried: PostgreSQL's plan for it, prepared while the table was new, then read the
        whole table at each group.)"""
        shas = [hashlib.sha256(raw).hexdigest() for _, raw in items]
        keys = [(receipt.partner_id, sha) for (receipt, _), sha in zip(items, shas, strict=True)]
        with self.db.session() as s:
            if len(items) == 1 or len(set(keys)) < len(keys):
                return [self._record_in(s, receipt, raw, None, sha, len(raw))
                        for (receipt, raw), sha in zip(items, shas, strict=True)]
            originals = {}
            for partner, sha in keys:  # one look each: a lookup by the key's index, planned alike at any size
                original = s.scalar(_ORIGINAL, {"partner_id": partner, "sha256": sha})
                if original is not None:
                    originals[(partner, sha)] = original
            rows = []
            for (receipt, raw), key in zip(items, keys, strict=True):
                row = _entry_row(receipt, key[1], len(raw))
                original = originals.get(key)
                if original is None:
                    row["raw"] = raw
                else:  # a transport replay: archived (the bytes are the original's), not processed
                    row.update(duplicate_of=original, status="duplicate")
                rows.append(row)
            entry_ids = list(s.scalars(_INSERT_ENTRIES, rows))
            jobs = [{"kind": "ingest", "inbox_id": entry_id, "partner_id": key[0]}
                    for entry_id, key in zip(entry_ids, keys, strict=True) if key not in originals]
            job_ids: dict[int, int] = {}
            if jobs:  # by receipt
                job_ids = dict(zip((job["inbox_id"] for job in jobs), s.scalars(_INSERT_JOBS, jobs), strict=True))
            return [(StoredReceipt(entry_id, sha, len(raw), duplicate_of=originals.get(key)), job_ids.get(entry_id))
                    for entry_id, key, sha, (_, raw) in zip(entry_ids, keys, shas, items, strict=True)]

    def _record_in(
        self, s: Session, receipt: Receipt, raw: bytes | None, blob_tmp: Path | None, sha: str, size: int
    ) -> tuple[StoredReceipt, int | None]:
        row = _entry_row(receipt, sha, size)
        # Core statements built once: this runs for every receipt, and the ORM's unit of work
        # cost more than the two inserts
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


def _entry_row(receipt: Receipt, sha: str, size: int) -> dict[str, Any]:
    """The inbox row of a receipt before its bytes (``raw`` or ``blob_path``) are placed."""
    return {
        "partner_id": receipt.partner_id, "channel": receipt.channel,
        "document_type": receipt.document_type, "content_type": receipt.content_type,
        "filename": receipt.filename, "sha256": sha, "size": size,
        "correlation_id": receipt.correlation_id, "meta": dict(receipt.meta),
        "duplicate_of": None, "status": "received", "raw": None, "blob_path": None,
    }


_WRITER_LOCK = threading.Lock()
_Pending = tuple[Receipt, bytes, asyncio.AbstractEventLoop, "asyncio.Future[StoredReceipt]"]


class _GroupCommit:
    """One thread that commits the receipts waiting for it, a group per transaction.

    Requests hand their receipt over and wait on a future; the thread takes everything that
    waits (up to ``GROUP_MAX``), writes it in one transaction and, only after the commit,
    resolves the futures (one wake-up of the event loop per group) and hands the jobs to the
    runtime. If the group's transaction fails, it is rolled back whole and every receipt of
    it is written again in a transaction of its own, so one bad receipt fails alone.
    """

    def __init__(self, inbox: DatabaseInbox) -> None:
        self.inbox = inbox
        self._waiting: deque[_Pending] = deque()
        self._ready = threading.Condition(threading.Lock())
        self._idle = False
        self._thread = threading.Thread(target=self._run, name="crossdock-intake", daemon=True)
        self._thread.start()

    def put(self, item: _Pending) -> None:
        with self._ready:
            self._waiting.append(item)
            if self._idle:  # wake the thread only when it sleeps: a busy one takes it with its next group
                self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._waiting:
                    self._idle = True
                    self._ready.wait()
                self._idle = False
                group = [self._waiting.popleft() for _ in range(min(len(self._waiting), GROUP_MAX))]
            try:
                self._commit(group)
            except Exception as error:  # never leave a request waiting on a thread that went away
                log.exception("inbox.group_crashed", receipts=len(group))
                for _, _, loop, future in group:
                    with contextlib.suppress(RuntimeError):
                        loop.call_soon_threadsafe(_answer, [(future, error)])

    def _commit(self, group: list[_Pending]) -> None:
        results: list[tuple[StoredReceipt, int | None] | BaseException]
        try:
            results = list(self.inbox._record_group([(receipt, raw) for receipt, raw, _, _ in group]))
        except Exception as error:
            if len(group) == 1:
                results = [error]
            else:  # rolled back whole: each on its own, so one bad receipt fails alone
                log.warning("inbox.group_failed", receipts=len(group), error=str(error)[:200])
                results = [_alone(self.inbox, receipt, raw) for receipt, raw, _, _ in group]
        if self.inbox.on_stored is not None:
            for result in results:
                if isinstance(result, tuple) and result[1] is not None:
                    try:
                        self.inbox.on_stored(result[1])
                    except Exception:  # best effort, like after ``store``: the sweep finds the job
                        log.exception("inbox.submit_failed", job_id=result[1])
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[StoredReceipt], Any]]] = {}
        for (_, _, loop, future), result in zip(group, results, strict=True):
            by_loop.setdefault(loop, []).append((future, result[0] if isinstance(result, tuple) else result))
        for loop, answers in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits for these answers now
                loop.call_soon_threadsafe(_answer, answers)


def _alone(inbox: DatabaseInbox, receipt: Receipt, raw: bytes) -> tuple[StoredReceipt, int | None] | BaseException:
    """One receipt in a transaction of its own: its result, or the exception its request raises."""
    try:
        return inbox._record(receipt, raw, None, hashlib.sha256(raw).hexdigest(), len(raw))
    except Exception as error:
        return error


def _answer(answers: list[tuple[asyncio.Future[StoredReceipt], Any]]) -> None:
    for future, result in answers:
        if future.done():  # the request went away (cancelled): its receipt is stored all the same
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
