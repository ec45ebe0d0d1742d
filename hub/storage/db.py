"""Engines and sessions: SQLite (WAL) for the embedded default, PostgreSQL for scale."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database", "make_engine"]


_PING_AFTER_IDLE_SECONDS = 1.0


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine tuned for the hub: SQLite in WAL mode with IMMEDIATE write transactions."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=16, max_overflow=16,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling is off so BEGIN IMMEDIATE below decides:
            # a writer takes the lock up front instead of failing to upgrade later.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # durable across a process crash in WAL
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        writers = _WriterTurns(timeout=30.0)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Readers (``Database.reader``) start deferred and never block writers in WAL.
            immediate = conn.get_execution_options().get("immediate", True)
            if immediate:
                writers.take(conn)
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
            except BaseException:
                writers.give_back(conn.info)
                raise

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _sqlite_end(conn: Any) -> None:
            if not conn.invalidated:  # an invalidated connection gave its turn back already (below)
                writers.give_back(conn.info)

        @event.listens_for(engine.pool, "checkin")
        @event.listens_for(engine.pool, "invalidate")
        def _sqlite_returned(_dbapi_conn: Any, record: Any, *_rest: Any) -> None:
            # a connection that leaves without COMMIT or ROLLBACK (invalidated, or returned
            # mid-transaction) must not keep the turn
            if record is not None:
                writers.give_back(record.info)

        return engine
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20)

    @event.listens_for(engine.pool, "checkin")
    def _idle_since(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["crossdock_checked_in"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        # Pessimistic disconnect handling, but only for a connection idle long enough for the
        # server to have gone (a restart, a failover, an idle timeout): pinging every checkout
        # cost a round trip each time, five or more per document. A dead connection raises
        # DisconnectionError here and the pool replaces it with a fresh one; one that died
        # within the last second fails its statement instead, which the job's retry covers.
        idle = time.monotonic() - record.info.get("crossdock_checked_in", 0.0)
        if idle < _PING_AFTER_IDLE_SECONDS:
            return
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as error:
            raise exc.DisconnectionError(f"connection lost while idle: {error}") from error

    return engine


class _WriterTurns:
    """Write transactions of one process take turns on a fair lock before ``BEGIN IMMEDIATE``.

    SQLite has one writer at a time; a connection that finds the write lock taken waits in
    SQLite's busy handler, which sleeps in growing steps (up to 100 ms) and wakes in no order.
    With a dozen request and worker threads writing small transactions that sleeping, not the
    writes, bounded throughput: a waiting thread slept on long after the lock was free. In one
    process the threads now queue here and the next one starts the moment the last commits;
    other processes (the CLI, a second ``serve``) still meet SQLite's busy handler as before.
    """

    def __init__(self, *, timeout: float) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()

    def take(self, conn: Any) -> None:
        if conn.info.get("crossdock_write_turn"):
            return  # already this connection's turn
        if not self._lock.acquire(timeout=self.timeout):
            raise sqlite3.OperationalError(
                f"database is locked: no write turn within {self.timeout:.0f} s (a write transaction of this "
                "process is still open)")
        conn.info["crossdock_write_turn"] = True

    def give_back(self, info: dict[str, Any]) -> None:
        if info.pop("crossdock_write_turn", False):
            self._lock.release()


class Database:
    """One engine and its session factory.

    Usage:
        db = Database("sqlite:///var/crossdock.db")
        with db.session() as s:   # commits on success, rolls back on error
            s.add(...)
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.factory = sessionmaker(self.engine, expire_on_commit=False)
        # Reads on PostgreSQL run in autocommit: under READ COMMITTED every statement sees its
        # own snapshot anyway, and a BEGIN and a ROLLBACK around each read cost two round trips.
        self.read_engine = self.engine.execution_options(immediate=False) if self.engine.dialect.name == "sqlite" \
            else self.engine.execution_options(immediate=False, isolation_level="AUTOCOMMIT")
        self.read_factory = sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        s = self.factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only session (never takes SQLite's write lock)."""
        s = self.read_factory()
        try:
            yield s
        finally:
            s.rollback()
            s.close()

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A read-only Core connection: for hot paths that run Core statements (no ORM session)."""
        with self.read_engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
