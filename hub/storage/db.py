"""Engines and sessions: SQLite (WAL) for the embedded default, PostgreSQL for scale."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

from canonical.documents import DocumentJSON

__all__ = ["Database", "make_engine"]


_PING_AFTER_IDLE_SECONDS = 1.0


def _json_dumps(value: Any) -> str:
    """What a JSON column stores: a document's JSON as pydantic already wrote it, else ``json.dumps``."""
    if type(value) is DocumentJSON:
        return str.__str__(value)
    return json.dumps(value)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine tuned for the hub: SQLite in WAL mode with IMMEDIATE write transactions."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=16, max_overflow=16, json_serializer=_json_dumps,
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
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20, json_serializer=_json_dumps)

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


def _raw(conn: Connection, sql: str) -> None:
    """A statement straight on the driver's connection (SAVEPOINT / RELEASE / ROLLBACK TO):
    SQLAlchemy's execution path costs more than SQLite's work for these."""
    conn.connection.dbapi_connection.execute(sql)  # type: ignore[union-attr]


class _Unit(Session):
    """A session inside ``Database.batch``: its commit keeps its writes for the batch's commit,
    its rollback undoes its own writes only (back to its savepoint), never the batch's."""

    savepoint = ""
    batch_connection: Connection

    def commit(self) -> None:
        self.flush()

    def rollback(self) -> None:
        self.expunge_all()
        _raw(self.batch_connection, f"ROLLBACK TO {self.savepoint}")  # the savepoint stays open


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
        self._batch = threading.local()  # .conn: this thread's open batch (``batch``), if any

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def batch(self) -> Iterator[Connection]:
        """One write transaction around several units of work of this thread (a group commit).

        Inside it, this thread's ``session()`` is a SAVEPOINT of the batch (its commit keeps
        the unit's writes, its rollback undoes that unit alone), and ``reader()`` and
        ``read_connection()`` read through the batch's connection, so each unit sees what the
        units before it wrote, as it would after separate commits. Nothing is durable before
        the batch commits at the end; an exception out of it rolls the whole batch back. Other
        threads' writers wait for the batch (one write turn): keep it short and free of I/O
        other than the database's. Nested ``batch()`` calls join the open one.
        """
        open_batch: Connection | None = getattr(self._batch, "conn", None)
        if open_batch is not None:
            yield open_batch
            return
        with self.engine.connect() as conn, conn.begin():
            self._batch.conn = conn
            try:
                yield conn
            finally:
                self._batch.conn = None

    @contextmanager
    def _unit(self, conn: Connection) -> Iterator[Session]:
        """A ``session()`` inside a batch: a SAVEPOINT of the batch's transaction.

        Written as SQL, not with ``begin_nested()``: SQLAlchemy's nested transactions cost
        several times the statements they wrap, and this runs for every job of a batch.
        """
        depth = getattr(self._batch, "depth", 0)
        name = f"crossdock_unit_{depth}"
        _raw(conn, f"SAVEPOINT {name}")
        self._batch.depth = depth + 1
        s = _Unit(bind=conn, join_transaction_mode="rollback_only", expire_on_commit=False)
        s.savepoint, s.batch_connection = name, conn
        try:
            yield s
            s.flush()
        except BaseException:
            with contextlib.suppress(Exception):  # the exception below is the one that counts
                _raw(conn, f"ROLLBACK TO {name}")
                _raw(conn, f"RELEASE {name}")
            raise
        finally:
            self._batch.depth = depth
            s.close()  # "rollback_only": closing leaves the batch's transaction alone
        _raw(conn, f"RELEASE {name}")

    @property
    def in_batch(self) -> bool:
        return getattr(self._batch, "conn", None) is not None

    @contextmanager
    def session(self) -> Iterator[Session]:
        open_batch: Connection | None = getattr(self._batch, "conn", None)
        if open_batch is not None:
            with self._unit(open_batch) as unit:
                yield unit
            return
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
        open_batch = getattr(self._batch, "conn", None)
        if open_batch is not None:  # reads through the batch; closing leaves its transaction alone
            s = self.read_factory(bind=open_batch, join_transaction_mode="rollback_only")
            try:
                yield s
            finally:
                s.close()
            return
        s = self.read_factory()
        try:
            yield s
        finally:
            s.rollback()
            s.close()

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A read-only Core connection: for hot paths that run Core statements (no ORM session)."""
        open_batch = getattr(self._batch, "conn", None)
        if open_batch is not None:
            yield open_batch
            return
        with self.read_engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
