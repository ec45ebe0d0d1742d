"""Collect a partner's files over SFTP into the inbox; move or delete each only once stored.

One poll, per inbound folder: take the folder's lease (so two nodes never work it at the
same time), list it, leave files that have not settled, stream each settled file into
``Inbox.store`` and, once that returned, move it to the archive (or delete it). A crash
or a dropped connection between store and move leaves the file in place: it is taken
again, the inbox answers ``duplicate_of`` and the move is simply finished.
"""

from __future__ import annotations

import errno
import fnmatch
import logging
import posixpath
import stat
import time
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from connectors.base import Connector, Inbox, Receipt, StateStore
from connectors.transports.sftp.config import AfterStore, InboundDir, SftpConfig
from connectors.transports.sftp.session import (
    RemoteReader,
    SftpSession,
    is_transient,
    open_session,
    with_reconnect,
)

__all__ = ["SftpSource"]

log = logging.getLogger("crossdock.connectors.sftp")
IN_MEMORY_MAX = 1024 * 1024  # bytes: files up to this size are read whole


@dataclass(frozen=True, slots=True)
class _Look:
    size: int
    mtime: int
    since: float


class SftpSource(Connector):
    """Pulls files from a partner's SFTP folders into the inbox.

    Usage:
        source = SftpSource(config=SftpConfig(...), inbox=inbox, state=state_store)
        stored = source.poll()      # the hub's scheduler calls this every poll_interval_s
        source.close()
    """

    kind: ClassVar[str] = "sftp"
    config_model: ClassVar[type[SftpConfig]] = SftpConfig
    config: SftpConfig

    def __init__(self, *, config: SftpConfig, inbox: Inbox, state: StateStore,
                 node_id: str | None = None) -> None:
        super().__init__(partner_id=config.partner_id, config=config, inbox=inbox)
        self.state = state
        self.node_id = node_id or f"sftp-{uuid.uuid4().hex[:12]}"
        self._session: SftpSession | None = None
        self._looks: dict[str, _Look] = {}

    def poll(self) -> int:
        """Collect every settled file from every inbound folder; returns how many were stored."""
        stored = 0
        for inbound in self.config.inbound:
            key = f"sftp:{self.partner_id}:{self.config.host}:{self.config.port}:{inbound.path}"
            if not self.state.try_lease(key, self.node_id, self.config.lease_ttl_s):
                log.debug("sftp %s: another node holds %s", self.partner_id, key)
                continue
            try:
                counter = [0]
                with_reconnect(self.config, partial(self._pass, inbound, key, counter))
                stored += counter[0]
            finally:
                self.state.release_lease(key, self.node_id)
        return stored

    def close(self) -> None:
        """Close the connection kept open between polls."""
        if self._session is not None:
            session, self._session = self._session, None
            session.close()

    def _connected(self) -> SftpSession:
        if self._session is not None and not self._session.alive:
            self.close()
        if self._session is None:
            self._session = open_session(self.config)
        return self._session

    def _pass(self, inbound: InboundDir, lease_key: str, counter: list[int]) -> None:
        session = self._connected()
        try:
            renewed = time.monotonic()
            for entry in self._settled(session, inbound):
                if time.monotonic() - renewed > self.config.lease_ttl_s / 3:
                    if not self.state.try_lease(lease_key, self.node_id, self.config.lease_ttl_s):
                        log.warning("sftp %s: lost the lease on %s", self.partner_id, lease_key)
                        return
                    renewed = time.monotonic()
                counter[0] += self._take(session, inbound, entry)
        except Exception as exc:
            if is_transient(exc) or not session.alive:
                self.close()  # the next attempt reconnects, lists again and retakes the file
                raise ConnectionError(f"SFTP connection to {self.config.host}:"
                                      f"{self.config.port} dropped: {exc}") from exc
            raise

    def _settled(self, session: SftpSession, inbound: InboundDir) -> list[Any]:
        now = time.monotonic()
        ready, seen = [], set()
        for entry in session.sftp.listdir_attr(inbound.path):
            name = entry.filename
            if (name.startswith(".") or entry.st_mode is None or not stat.S_ISREG(entry.st_mode)
                    or not any(fnmatch.fnmatchcase(name, p) for p in inbound.patterns)):
                continue
            path = posixpath.join(inbound.path, name)
            seen.add(path)
            look = self._looks.get(path)
            if look is None or (look.size, look.mtime) != (entry.st_size, entry.st_mtime):
                self._looks[path] = _Look(entry.st_size, entry.st_mtime, now)
                if self.config.settle_seconds > 0:
                    continue
            elif now - look.since < self.config.settle_seconds:
                continue
            ready.append(entry)
        for path in [p for p in self._looks if posixpath.dirname(p) == inbound.path]:
            if path not in seen:
                del self._looks[path]
        return sorted(ready, key=lambda e: (e.st_mtime or 0, e.filename))

    def _take(self, session: SftpSession, inbound: InboundDir, entry: Any) -> int:
        path = posixpath.join(inbound.path, entry.filename)
        receipt = Receipt(
            partner_id=self.partner_id, channel="sftp", filename=entry.filename,
            document_type=inbound.document_type or self.config.document_type,
            meta={"host": self.config.host, "port": self.config.port, "path": path,
                  "size": entry.st_size, "mtime": entry.st_mtime})
        with session.sftp.open(path, "rb") as handle:
            reader = RemoteReader(handle, entry.st_size)
            # Small files go in as bytes (the inbox stores them without spooling to disk);
            # anything larger streams through, one window in memory at a time.
            body = reader.read_all() if entry.st_size <= IN_MEMORY_MAX else reader.stream()
            stored = self.inbox.store(receipt, body)
        now = session.sftp.stat(path)
        if (now.st_size, now.st_mtime) != (entry.st_size, entry.st_mtime):
            # Written to while we read it: what we stored is kept, the file stays for next poll.
            log.warning("sftp %s: %s changed while it was read; stored as receipt %s and "
                        "left in place", self.partner_id, path, stored.receipt_id)
            self._looks.pop(path, None)
            return 1
        self._ack(session, inbound, path, stored.receipt_id)
        self._looks.pop(path, None)
        if stored.already_seen:
            log.info("sftp %s: %s already stored as receipt %s; acknowledged",
                     self.partner_id, path, stored.duplicate_of)
            return 0
        log.info("sftp %s: stored %s as receipt %s (%d bytes)", self.partner_id, path,
                 stored.receipt_id, stored.size)
        return 1

    def _ack(self, session: SftpSession, inbound: InboundDir, path: str, receipt_id: int) -> None:
        sftp = session.sftp
        try:
            if self.config.after_store is AfterStore.DELETE:
                sftp.remove(path)
                return
            archive = self.config.archive_for(inbound.path)
            target = posixpath.join(archive, posixpath.basename(path))
            try:
                sftp.rename(path, target)
            except OSError:
                self._ensure_dir(session, archive)
                if self._exists(session, target):  # an earlier file of the same name
                    target = f"{target}.{receipt_id}"
                sftp.rename(path, target)
        except FileNotFoundError:
            log.info("sftp %s: %s was already acknowledged by another node", self.partner_id, path)

    @staticmethod
    def _exists(session: SftpSession, path: str) -> bool:
        try:
            session.sftp.stat(path)
        except FileNotFoundError:
            return False
        return True

    def _ensure_dir(self, session: SftpSession, path: str) -> None:
        try:
            session.sftp.mkdir(path)
        except OSError as exc:
            if exc.errno not in (None, errno.EEXIST) or not self._exists(session, path):
                raise
