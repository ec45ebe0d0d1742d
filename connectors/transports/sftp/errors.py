"""What can go wrong talking SFTP to a partner, named by what the hub does about it.

    CrossdockError
    ├── RetryableError
    │   └── SftpUnavailable      the server could not be reached, even after reconnecting
    └── PermanentError
        ├── HostKeyRejected      the server's host key is not the pinned one: never trusted
        └── SftpAuthFailed       the server refused our user name, password or key

Each error carries the partner, host and port in ``details``; none carries a secret.
"""

from __future__ import annotations

from canonical.errors import PermanentError, RetryableError

__all__ = ["HostKeyRejected", "SftpAuthFailed", "SftpUnavailable"]


class SftpUnavailable(RetryableError):
    """The SFTP server stayed unreachable (or kept dropping us) through every reconnect."""

    code = "sftp.unavailable"


class SftpAuthFailed(PermanentError):
    """The server refused to authenticate us: fix the user name or credentials."""

    code = "sftp.auth_failed"


class HostKeyRejected(PermanentError):
    """The server presented a host key other than the pinned one; we did not log in.

    Usage:
        except HostKeyRejected as exc:
            print(exc.host, exc.port, exc.expected, exc.presented)
    """

    code = "sftp.host_key_rejected"

    def __init__(
        self, *, host: str, port: int, expected: str, presented: str, partner: str | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.expected = expected
        self.presented = presented
        super().__init__(
            f"SFTP server {host}:{port} presented host key {presented}, but {expected} is pinned "
            "for it; refusing to connect. If the partner really changed its key, confirm the new "
            "fingerprint with them and update host_key.",
            partner=partner,
            details={"host": host, "port": port, "expected": expected, "presented": presented},
        )
