"""One logged-in SFTP connection, opened only to the pinned server, and the reconnect policy.

Usage:
    with open_session(config) as session:
        for entry in session.sftp.listdir_attr("/out"):
            ...
"""

from __future__ import annotations

import errno
import io
import logging
import socket
from collections.abc import Callable
from typing import IO, Any, TypeVar

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from canonical.errors import ConfigurationError, CrossdockError
from connectors.transports.sftp.config import SftpConfig
from connectors.transports.sftp.errors import HostKeyRejected, SftpAuthFailed, SftpUnavailable
from connectors.transports.sftp.hostkey import PinnedKeyPolicy, describe_key, host_key_name

__all__ = ["RemoteReader", "SftpSession", "is_transient", "open_session", "with_reconnect"]

log = logging.getLogger("crossdock.connectors.sftp")
T = TypeVar("T")
_NETWORK_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE,
                   errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT, errno.ENOTCONN}


class SftpSession:
    """A paramiko SSH client and its SFTP channel; ``alive`` says whether it still works."""

    def __init__(self, client: Any, sftp: Any) -> None:
        self.client = client
        self.sftp = sftp

    @property
    def alive(self) -> bool:
        transport = self.client.get_transport()
        return bool(transport is not None and transport.is_active())

    def close(self) -> None:
        try:
            self.sftp.close()
        finally:
            self.client.close()

    def __enter__(self) -> SftpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _private_key(config: SftpConfig) -> Any:
    passphrase = (config.private_key_passphrase.get_secret_value()
                  if config.private_key_passphrase is not None else None)
    try:
        if config.private_key_path is not None:
            text = config.private_key_path.read_text()
        elif config.private_key is not None:
            text = config.private_key.get_secret_value()
        else:
            return None
        secret = passphrase.encode() if passphrase else None
        try:
            loaded: Any = serialization.load_ssh_private_key(text.encode(), password=secret)
        except ValueError:
            loaded = serialization.load_pem_private_key(text.encode(), password=secret)
        kind = (paramiko.Ed25519Key if isinstance(loaded, ed25519.Ed25519PrivateKey)
                else paramiko.ECDSAKey if isinstance(loaded, ec.EllipticCurvePrivateKey)
                else paramiko.RSAKey if isinstance(loaded, rsa.RSAPrivateKey) else None)
        if kind is None:
            raise ValueError(f"unsupported key type {type(loaded).__name__}")
        return kind.from_private_key(io.StringIO(text), password=passphrase)
    except (OSError, ValueError, TypeError, paramiko.SSHException) as exc:
        # The reason names the problem (wrong passphrase, unknown format), never the key.
        raise ConfigurationError(
            f"cannot read the private key for SFTP partner {config.partner_id}: "
            f"{type(exc).__name__}: {exc}", partner=config.partner_id) from None


def open_session(config: SftpConfig) -> SftpSession:
    """Connect, check the host key against the pin, log in and open SFTP (one attempt)."""
    pin = config.pin
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(
        PinnedKeyPolicy(pin, host=config.host, port=config.port, partner=config.partner_id))
    if pin.key is not None:
        # Known to paramiko so it negotiates this key type first; never written anywhere.
        client.get_host_keys().add(host_key_name(config.host, config.port), pin.key.get_name(),
                                   pin.key)
    try:
        client.connect(
            config.host, port=config.port, username=config.username,
            password=config.password.get_secret_value() if config.password else None,
            pkey=_private_key(config), timeout=config.connect_timeout_s,
            banner_timeout=config.connect_timeout_s, auth_timeout=config.connect_timeout_s,
            channel_timeout=config.connect_timeout_s, allow_agent=False, look_for_keys=False)
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(config.io_timeout_s)
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise HostKeyRejected(host=config.host, port=config.port, expected=pin.expected,
                              presented=describe_key(exc.key), partner=config.partner_id) from None
    except paramiko.AuthenticationException as exc:
        client.close()
        raise SftpAuthFailed(
            f"SFTP server {config.host}:{config.port} refused user {config.username!r}: {exc}",
            partner=config.partner_id,
            details={"host": config.host, "port": config.port, "username": config.username},
        ) from None
    except BaseException:
        client.close()
        raise
    log.info("sftp connected to %s:%s as %s", config.host, config.port, config.username)
    return SftpSession(client, sftp)


def is_transient(exc: BaseException) -> bool:
    """Whether reconnecting may help: dropped or refused connections, timeouts, SSH hiccups."""
    if isinstance(exc, CrossdockError | paramiko.AuthenticationException
                  | paramiko.BadHostKeyException):
        return isinstance(exc, SftpUnavailable)
    if isinstance(exc, EOFError | socket.timeout | socket.gaierror | ConnectionError
                  | TimeoutError | paramiko.SSHException
                  | paramiko.ssh_exception.NoValidConnectionsError):
        return True
    return isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS


def with_reconnect(config: SftpConfig, attempt: Callable[[], T]) -> T:
    """Run ``attempt`` until it succeeds, retrying transient failures with backoff.

    ``attempt`` must itself (re)connect when its session was dropped. When every attempt
    failed the last error is raised as :class:`SftpUnavailable`.
    """

    def _log(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("sftp %s:%s: %s (%s); reconnecting in %.1fs (attempt %d of %d)",
                    config.host, config.port, type(exc).__name__, exc, wait,
                    state.attempt_number + 1, config.reconnect_attempts)

    retrying = Retrying(
        stop=stop_after_attempt(config.reconnect_attempts),
        wait=wait_exponential_jitter(multiplier=config.reconnect_initial_wait_s,
                                     max=config.reconnect_max_wait_s,
                                     jitter=config.reconnect_initial_wait_s),
        retry=retry_if_exception(is_transient), before_sleep=_log, reraise=True)
    try:
        return retrying(attempt)
    except SftpUnavailable:
        raise
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise SftpUnavailable(
            f"SFTP server {config.host}:{config.port} unavailable after "
            f"{config.reconnect_attempts} attempts: {type(exc).__name__}: {exc}",
            partner=config.partner_id, details={"host": config.host, "port": config.port},
        ) from exc


class RemoteReader(io.RawIOBase):
    """A remote file read in pipelined windows: memory stays at one window, whatever the size.

    Reads stop at ``size`` (the size seen when the file was listed), so a file still
    growing is never read past what was settled.
    """

    def __init__(self, handle: Any, size: int, *, window: int = 1024 * 1024) -> None:
        super().__init__()
        self._handle = handle
        self._size = size
        self._window = window
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._window, self._size - self._pos)
        if want <= 0:
            return 0
        data = b"".join(self._handle.readv([(self._pos, want)]))
        self._drop_stale_read_ahead()
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _drop_stale_read_ahead(self) -> None:
        # paramiko can end a read-ahead early under load (it thinks every request was
        # answered while its sender thread is still sending) and reads on synchronously;
        # the answers that arrive after that are kept in its buffer and never read. They
        # duplicate bytes already returned, so dropping them keeps memory at one window.
        buffers = getattr(self._handle, "_prefetch_data", None)
        lock = getattr(self._handle, "_prefetch_lock", None)
        if isinstance(buffers, dict) and buffers and lock is not None:
            with lock:
                buffers.clear()  # only this window was asked for, and it has been read

    def read_all(self) -> bytes:
        """The whole file at once, for small files only (it is held in memory)."""
        return b"".join(self._handle.readv([(0, self._size)])) if self._size else b""

    def stream(self) -> IO[bytes]:
        """This reader as a buffered binary stream, the shape ``Inbox.store`` takes."""
        return io.BufferedReader(self, buffer_size=self._window)
