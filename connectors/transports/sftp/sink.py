"""Deliver files to a partner's SFTP folder so that no half-written file is ever visible.

Each upload is written as ``.<name>.part`` (partners' pollers skip dot files) and renamed
to its final name only once complete (``posix-rename@openssh.com`` where the server has
it, so an older file of the same name is replaced in one step).
"""

from __future__ import annotations

import io
import logging
import posixpath
from functools import partial
from typing import IO

from connectors.transports.sftp.config import SftpConfig
from connectors.transports.sftp.session import (
    SftpSession,
    is_transient,
    open_session,
    with_reconnect,
)

__all__ = ["SftpSink"]

log = logging.getLogger("crossdock.connectors.sftp")


class SftpSink:
    """Uploads outbound payloads into ``config.outbound_dir``, atomically.

    Usage:
        with SftpSink(config) as sink:
            sink.send("po-4711.edi", b"ISA*00*...")       # or an open binary file
    """

    def __init__(self, config: SftpConfig) -> None:
        if config.outbound_dir is None:
            raise ValueError(f"SFTP partner {config.partner_id} has no outbound_dir")
        self.config = config
        self.outbound_dir: str = config.outbound_dir
        self._session: SftpSession | None = None

    def send(self, name: str, body: bytes | IO[bytes]) -> str:
        """Upload ``body`` as ``name``; returns the remote path once the file is in place.

        A dropped connection is retried with backoff; a stream body must then be seekable.
        """
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"not a plain file name: {name!r}")
        stream = io.BytesIO(body) if isinstance(body, bytes | bytearray) else body
        start = stream.tell() if stream.seekable() else None
        return with_reconnect(self.config, partial(self._upload, name, stream, start))

    def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            session.close()

    def __enter__(self) -> SftpSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _upload(self, name: str, stream: IO[bytes], start: int | None) -> str:
        if self._session is not None and not self._session.alive:
            self.close()
        if self._session is None:
            self._session = open_session(self.config)
        session = self._session
        sftp = session.sftp
        final = posixpath.join(self.outbound_dir, name)
        part = posixpath.join(self.outbound_dir, f".{name}.part")
        try:
            if start is not None:
                stream.seek(start)
            attrs = sftp.putfo(stream, part, confirm=True)
            try:
                sftp.posix_rename(part, final)
            except OSError:
                if session.alive and _exists(session, part):
                    # Servers without posix-rename: plain rename refuses to replace a file.
                    if _exists(session, final):
                        sftp.remove(final)
                    sftp.rename(part, final)
                else:
                    raise
        except Exception as exc:
            if is_transient(exc) or not session.alive:
                self.close()
                if start is None:
                    raise ValueError("upload interrupted and the body cannot be re-read") from exc
                raise ConnectionError(f"SFTP connection to {self.config.host}:"
                                      f"{self.config.port} dropped: {exc}") from exc
            raise
        log.info("sftp %s: uploaded %s (%d bytes)", self.config.partner_id, final, attrs.st_size)
        return final


def _exists(session: SftpSession, path: str) -> bool:
    try:
        session.sftp.stat(path)
    except FileNotFoundError:
        return False
    return True
