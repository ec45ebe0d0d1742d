"""Storage on SQLite and PostgreSQL: migrations match the models, the inbox stores raw first."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from connectors.base import Inbox, Receipt, StateStore
from hub.inbox import BlobStore, DatabaseInbox, PayloadTooLarge
from hub.state import DatabaseStateStore
from hub.storage.db import Database
from hub.storage.migrate import current_revision, head_revision, upgrade
from hub.storage.tables import Base, InboxEntry, Job


def test_migrations_build_exactly_the_models(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    db = Database(empty_database_url)
    try:
        assert current_revision(db.engine) == head_revision(db.url)
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        upgrade(db.url)  # running it again is a no-op
        assert current_revision(db.engine) == head_revision(db.url)
    finally:
        db.dispose()


def test_inbox_stores_raw_and_queues_a_job(db: Database, tmp_path: Path) -> None:
    queued: list[int] = []
    inbox = DatabaseInbox(db, blobs=BlobStore(tmp_path / "blobs"), on_stored=queued.append)
    assert isinstance(inbox, Inbox)
    stored = inbox.store(Receipt(partner_id="ACME", channel="http", document_type="purchase_order"), b'{"a": 1}')
    with db.reader() as s:
        entry = s.get(InboxEntry, stored.receipt_id)
        assert entry is not None and entry.raw == b'{"a": 1}' and entry.status == "received"
        job = s.scalar(select(Job).where(Job.inbox_id == stored.receipt_id))
        assert job is not None and job.status == "queued" and queued == [job.id]


def test_same_bytes_from_the_same_partner_are_a_replay(db: Database, tmp_path: Path) -> None:
    inbox = DatabaseInbox(db, blobs=BlobStore(tmp_path / "blobs"))
    first = inbox.store(Receipt(partner_id="ACME", channel="sftp"), b"ISA*00*...")
    again = inbox.store(Receipt(partner_id="ACME", channel="sftp"), b"ISA*00*...")
    other = inbox.store(Receipt(partner_id="GLOBEX", channel="sftp"), b"ISA*00*...")
    assert not first.already_seen and again.duplicate_of == first.receipt_id and not other.already_seen
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 2  # the replay queues nothing
        assert s.get(InboxEntry, again.receipt_id).status == "duplicate"  # but it is archived


def test_large_payloads_go_to_the_blob_store_streamed(db: Database, tmp_path: Path) -> None:
    inbox = DatabaseInbox(db, blobs=BlobStore(tmp_path / "blobs"), inline_max=1024)
    payload = b"x" * 5_000_000
    stored = inbox.store(Receipt(partner_id="ACME", channel="directory"), io.BytesIO(payload))
    with db.reader() as s:
        entry = s.get(InboxEntry, stored.receipt_id)
        assert entry.raw is None and entry.blob_path is not None and entry.size == len(payload)
        blob_path = entry.blob_path
    assert BlobStore(tmp_path / "blobs").read(blob_path) == payload
    assert not list((tmp_path / "blobs").glob(".spool-*"))


def test_size_limit_stores_nothing(db: Database, tmp_path: Path) -> None:
    inbox = DatabaseInbox(db, blobs=BlobStore(tmp_path / "blobs"), max_bytes=100)
    with pytest.raises(PayloadTooLarge, match="more than 100 bytes"):
        inbox.store(Receipt(partner_id="ACME", channel="http"), io.BytesIO(b"y" * 1000))
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(InboxEntry)) == 0


def test_leases_let_one_node_at_a_time(db: Database) -> None:
    store = DatabaseStateStore(db)
    assert isinstance(store, StateStore)
    results: list[bool] = []
    threads = [threading.Thread(target=lambda n=n: results.append(store.try_lease("poll:ACME", f"node{n}", 30)))
               for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
    store.put_state("poll:ACME", {"cursor": "abc"})
    assert store.get_state("poll:ACME") == {"cursor": "abc"}
    holder = next(f"node{n}" for n in range(6) if store.try_lease("poll:ACME", f"node{n}", 30))
    store.release_lease("poll:ACME", holder)
    assert store.try_lease("poll:ACME", "someone-else", 30)
    assert store.try_lease("poll:SHORT", "a", 0.0) and store.try_lease("poll:SHORT", "b", 30)  # expired


def _write_in_thread(db: Database, partner: str) -> threading.Thread:
    def write() -> None:
        with db.session() as s:
            s.add(InboxEntry(partner_id=partner, channel="http", sha256="0" * 64, size=0))

    t = threading.Thread(target=write, daemon=True)
    t.start()
    return t


def test_sqlite_writers_take_turns_and_a_lost_connection_gives_its_turn_back(db: Database) -> None:
    """SQLite: the threads of one process queue for the write lock in Python, so a writer
    starts as soon as the one before commits, and a connection that is invalidated or
    returned in the middle of a write transaction does not keep the others waiting."""
    if not db.is_sqlite:
        pytest.skip("write turns are SQLite's (PostgreSQL has row locks)")
    conn = db.engine.connect()
    conn.exec_driver_sql("SELECT 1")  # autobegin: BEGIN IMMEDIATE, this connection holds the write turn
    waiting = _write_in_thread(db, "WAITS")
    waiting.join(0.5)
    assert waiting.is_alive(), "a second writer must wait while a write transaction is open"
    conn.invalidate()  # the connection is lost mid-transaction, without COMMIT or ROLLBACK
    waiting.join(5)
    assert not waiting.is_alive(), "the turn of a lost connection must be given back"
    conn.rollback()
    conn.close()
    writers = [_write_in_thread(db, f"P{i}") for i in range(16)]
    for t in writers:
        t.join(10)
    assert not any(t.is_alive() for t in writers)
    with db.reader() as s:
        assert s.scalar(select(func.count()).select_from(InboxEntry)) == 17
