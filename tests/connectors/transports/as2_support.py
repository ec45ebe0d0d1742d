"""Test-only pieces for the AS2 tests: a SQLite inbox, a live HTTP server, certificates."""

from __future__ import annotations

import datetime
import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from connectors.base import Receipt, StoredReceipt
from tests.support.mock_edi import free_port


@dataclass
class SqliteInbox:
    """The Inbox contract on a SQLite file: durable when ``store`` returns."""

    path: Path
    events: list[tuple[str, str]] = field(default_factory=list)
    fail_with: Exception | None = None

    def __post_init__(self) -> None:
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY, partner TEXT,"
                " channel TEXT, message_id TEXT, filename TEXT, content_type TEXT,"
                " sha256 TEXT, size INTEGER, body BLOB, duplicate_of INTEGER)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def store(self, receipt: Receipt, body: bytes | IO[bytes]) -> StoredReceipt:
        if self.fail_with is not None:
            raise self.fail_with
        data = body if isinstance(body, bytes) else body.read()
        digest = hashlib.sha256(data).hexdigest()
        conn = self._connect()
        try:
            with conn:
                first = conn.execute(
                    "SELECT min(id) FROM inbox WHERE partner = ? AND sha256 = ?",
                    (receipt.partner_id, digest)).fetchone()[0]
                cur = conn.execute(
                    "INSERT INTO inbox (partner, channel, message_id, filename, content_type,"
                    " sha256, size, body, duplicate_of) VALUES (?,?,?,?,?,?,?,?,?)",
                    (receipt.partner_id, receipt.channel, receipt.correlation_id,
                     receipt.filename, receipt.content_type, digest, len(data), data, first))
                receipt_id = int(cur.lastrowid or 0)
        finally:
            conn.close()
        self.events.append(("stored", receipt.correlation_id or ""))
        return StoredReceipt(receipt_id, digest, len(data), duplicate_of=first)

    def earlier_receipt(self, partner_id: str, message_id: str) -> int | None:
        """MessageIdLedger: the first receipt with this partner's Message-ID."""
        conn = self._connect()
        try:
            found = conn.execute("SELECT min(id) FROM inbox WHERE partner = ? AND message_id = ?",
                                 (partner_id, message_id)).fetchone()[0]
        finally:
            conn.close()
        return int(found) if found is not None else None

    def rows(self) -> list[dict[str, Any]]:
        conn = self._connect()
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute("SELECT * FROM inbox ORDER BY id")]
        finally:
            conn.close()


class EventLog:
    """ASGI middleware noting when each response to a POST /as2 starts."""

    def __init__(self, app: Any, events: list[tuple[str, str]]) -> None:
        self.app, self.events = app, events

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message_id = dict(scope["headers"]).get(b"message-id", b"").decode()

        async def noting_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.events.append(("answered", message_id))
            await send(message)

        await self.app(scope, receive, noting_send)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run an ASGI app with uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                          log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass(frozen=True)
class KeyPair:
    certificate_pem: str
    private_key_pem: str


def make_keypair(common_name: str) -> KeyPair:
    """A throwaway self-signed RSA certificate for S/MIME round trips."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return KeyPair(
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode())
