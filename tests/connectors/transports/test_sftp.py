"""The SFTP source against a real OpenSSH sshd and the hub's real inbox."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.transports.sftp import (
    AfterStore,
    HostKeyRejected,
    SftpAuthFailed,
    SftpConfig,
    SftpSource,
    SftpUnavailable,
)
from tests.connectors.conformance import Hub, make_hub, write_payload_file
from tests.support import sshd as sshd_support
from tests.support.sshd import Sshd, generate_key

pytestmark = pytest.mark.sshd
sshd = sshd_support.sshd  # fixtures used by this module
sshd_factory = sshd_support.sshd_factory


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    hub = make_hub(tmp_path / "hub")
    yield hub
    hub.db.dispose()


def config(server: Sshd, **overrides: Any) -> SftpConfig:
    data: dict[str, Any] = {
        "partner_id": "ACME", "host": "127.0.0.1", "port": server.port,
        "username": server.user, "private_key": server.client_key.private_pem,
        "host_key": server.host_key.public_line, "settle_seconds": 0,
        "inbound": [{"path": str(server.mkdir("outbox"))}],
        "reconnect_attempts": 3, "reconnect_initial_wait_s": 0.05, "connect_timeout_s": 5,
    }
    return SftpConfig.model_validate({**data, **overrides})


def source(server: Sshd, hub: Hub, node: str = "node-1", **overrides: Any) -> SftpSource:
    return SftpSource(config=config(server, **overrides), inbox=hub.inbox, state=hub.state,
                      node_id=node)


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file()} if folder.exists() else set()


def test_a_file_is_stored_with_its_metadata_and_archived(sshd: Sshd, hub: Hub) -> None:
    sshd.put("outbox/po-1.edi", b"ISA*00*first~")
    src = source(sshd, hub, document_type="850")
    assert src.poll() == 1
    (row,) = hub.rows()
    assert (row.partner_id, row.channel, row.filename, row.document_type) == (
        "ACME", "sftp", "po-1.edi", "850")
    assert hub.sha256_of(row) == hashlib.sha256(b"ISA*00*first~").hexdigest()
    assert names(sshd.path("outbox")) == set()
    assert names(sshd.path("outbox/archive")) == {"po-1.edi"}
    # Same name again next day, different bytes: stored, and the archived one is kept.
    sshd.put("outbox/po-1.edi", b"ISA*00*second~")
    assert src.poll() == 1
    assert names(sshd.path("outbox/archive")) == {"po-1.edi", f"po-1.edi.{hub.rows()[1].id}"}
    src.close()


def test_delete_after_store_patterns_and_dot_files(sshd: Sshd, hub: Hub) -> None:
    for name in ("a.edi", "b.EDI", "c.txt", ".d.edi.part"):
        sshd.put(f"outbox/{name}", name.encode())
    inbound = [{"path": str(sshd.path("outbox")), "patterns": ["*.edi", "*.EDI"]}]
    src = source(sshd, hub, inbound=inbound, after_store=AfterStore.DELETE)
    assert src.poll() == 2
    assert sorted(r.filename or "" for r in hub.rows()) == ["a.edi", "b.EDI"]
    assert names(sshd.path("outbox")) == {"c.txt", ".d.edi.part"}
    assert not sshd.path("outbox/archive").exists()
    src.close()


def test_a_file_still_being_written_is_left_until_it_settles(sshd: Sshd, hub: Hub) -> None:
    target = sshd.put("outbox/growing.edi", b"ISA*part one")
    src = source(sshd, hub, settle_seconds=0.6)
    assert src.poll() == 0  # first look
    with target.open("ab") as fh:
        fh.write(b"*part two~")
    os.utime(target, (time.time() + 5, time.time() + 5))
    assert src.poll() == 0  # changed since the first look
    time.sleep(0.7)
    assert src.poll() == 1
    (row,) = hub.rows()
    assert hub.sha256_of(row) == hashlib.sha256(b"ISA*part one*part two~").hexdigest()
    src.close()


@pytest.mark.slow
def test_a_thousand_small_files_are_each_stored_once(sshd: Sshd, hub: Hub) -> None:
    for i in range(1000):
        sshd.put(f"outbox/order-{i:04d}.edi", f"ISA*{i:04d}*~".encode())
    src = source(sshd, hub)
    assert src.poll() == 1000
    assert src.poll() == 0
    rows = hub.rows()
    assert len(rows) == 1000 and all(r.duplicate_of is None for r in rows)
    assert len({r.filename for r in rows}) == 1000 and hub.jobs() == 1000
    assert names(sshd.path("outbox")) == set()
    assert len(names(sshd.path("outbox/archive"))) == 1000
    src.close()


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@pytest.mark.slow
def test_a_200_mb_file_is_stored_with_flat_memory(sshd: Sshd, hub: Hub) -> None:
    size = 200 * 1024 * 1024
    src = source(sshd, hub)
    assert src.poll() == 0  # warm up: imports and the first connection are not the file's
    sha = write_payload_file(sshd.path("outbox/big.bin"), size)
    os.chown(sshd.path("outbox/big.bin"), sshd.uid, sshd.gid)
    baseline, highest, done = _rss_bytes(), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            highest[0] = max(highest[0], _rss_bytes())

    sampler = threading.Thread(target=sample)
    sampler.start()
    tracemalloc.start()
    try:
        assert src.poll() == 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        done.set()
        sampler.join()
        src.close()
    (row,) = hub.rows()
    assert (row.size, row.sha256) == (size, sha)
    assert peak < 16 * 1024 * 1024, f"traced peak {peak / 2**20:.1f} MiB"
    grown = highest[0] - baseline
    assert grown < 64 * 1024 * 1024, f"RSS grew by {grown / 2**20:.0f} MiB with the file"


@pytest.mark.slow
# paramiko's read-ahead thread reports the dropped connection on its own, as it should.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_sshd_killed_mid_transfer_the_file_is_taken_again_and_stored_once(
    sshd: Sshd, hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    size = 40 * 1024 * 1024
    sha = write_payload_file(sshd.mkdir("outbox") / "big.bin", size)
    spool = hub.inbox.blobs.root
    killed = threading.Event()

    def kill_mid_transfer() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            spooled = [p.stat().st_size for p in spool.glob(".spool-*") if p.exists()]
            if any(s > 4 * 1024 * 1024 for s in spooled):
                sshd.kill()
                killed.set()
                time.sleep(0.5)
                sshd.start()  # same port, same host key
                return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_mid_transfer)
    killer.start()
    caplog.set_level(logging.WARNING, logger="crossdock.connectors.sftp")
    src = source(sshd, hub, reconnect_attempts=20, reconnect_initial_wait_s=0.1,
                 reconnect_max_wait_s=0.5)
    try:
        assert src.poll() == 1
    finally:
        killer.join()
        src.close()
    assert killed.is_set(), "sshd was never killed mid-transfer"
    assert "reconnecting" in caplog.text
    (row,) = hub.rows()
    assert (row.size, row.sha256, row.duplicate_of) == (size, sha, None)
    assert hub.jobs() == 1
    assert names(sshd.path("outbox")) == set() and names(sshd.path("outbox/archive")) == {"big.bin"}


def test_an_unreachable_server_is_reported_unavailable_after_backoff(
    sshd: Sshd, hub: Hub
) -> None:
    sshd.put("outbox/a.edi", b"ISA~")
    src = source(sshd, hub)
    sshd.kill()
    started = time.monotonic()
    with pytest.raises(SftpUnavailable, match=f"127.0.0.1:{sshd.port}"):
        src.poll()
    assert time.monotonic() - started < 5
    assert hub.rows() == [] and names(sshd.path("outbox")) == {"a.edi"}


def test_two_nodes_polling_one_folder_never_store_a_file_twice(sshd: Sshd, hub: Hub) -> None:
    for i in range(150):
        sshd.put(f"outbox/f-{i:03d}.edi", f"ISA*{i}~".encode())
    nodes = [source(sshd, hub, node=f"node-{n}") for n in (1, 2)]
    counts = [0, 0]
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def work(i: int) -> None:
        try:
            start.wait()
            for _ in range(40):
                counts[i] += nodes[i].poll()
                if not names(sshd.path("outbox")):
                    return
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in nodes:
        n.close()
    assert failures == []
    rows = hub.rows()
    assert len(rows) == 150 and all(r.duplicate_of is None for r in rows)
    assert sum(counts) == 150
    assert len(names(sshd.path("outbox/archive"))) == 150


def test_a_lease_held_by_another_node_is_respected(sshd: Sshd, hub: Hub) -> None:
    sshd.put("outbox/a.edi", b"ISA~")
    src = source(sshd, hub, node="node-2")
    key = f"sftp:ACME:127.0.0.1:{sshd.port}:{sshd.path('outbox')}"
    assert hub.state.try_lease(key, "node-1", 60)
    assert src.poll() == 0 and hub.rows() == []
    hub.state.release_lease(key, "node-1")
    assert src.poll() == 1
    src.close()


# Host keys: pinned, never trusted on first use.

@pytest.mark.parametrize("form", ["public_key", "known_hosts", "fingerprint"])
def test_each_pin_form_accepts_the_right_key(sshd: Sshd, hub: Hub, form: str) -> None:
    pin = {"public_key": sshd.host_key.public_line, "known_hosts": sshd.known_hosts_line,
           "fingerprint": sshd.host_key.fingerprint}[form]
    sshd.put("outbox/a.edi", b"ISA~")
    src = source(sshd, hub, host_key=pin)
    assert src.poll() == 1
    src.close()


@pytest.mark.parametrize("form", ["public_key", "fingerprint"])
def test_an_unknown_host_key_is_refused_before_logging_in(
    sshd: Sshd, hub: Hub, form: str
) -> None:
    other = generate_key()
    pin = other.public_line if form == "public_key" else other.fingerprint
    sshd.put("outbox/a.edi", b"ISA~")
    src = source(sshd, hub, host_key=pin)
    with pytest.raises(HostKeyRejected) as caught:
        src.poll()
    message = str(caught.value)
    for part in ("127.0.0.1", str(sshd.port), other.fingerprint, sshd.host_key.fingerprint):
        assert part in message
    assert "Accepted" not in sshd.log_path.read_text(), "credentials were offered anyway"
    assert hub.rows() == [] and names(sshd.path("outbox")) == {"a.edi"}


def test_a_changed_host_key_is_refused_with_both_fingerprints(sshd: Sshd, hub: Hub) -> None:
    src = source(sshd, hub)
    assert src.poll() == 0  # connected once with the pinned key
    old = sshd.host_key.fingerprint
    sshd.restart(new_host_key=True)
    sshd.put("outbox/a.edi", b"ISA~")
    started = time.monotonic()
    with pytest.raises(HostKeyRejected) as caught:
        src.poll()
    assert time.monotonic() - started < 3, "a refused key must not be retried"
    assert (caught.value.host, caught.value.port) == ("127.0.0.1", sshd.port)
    assert old in caught.value.expected and sshd.host_key.fingerprint in caught.value.presented
    assert f"127.0.0.1:{sshd.port}" in str(caught.value)
    assert hub.rows() == [] and names(sshd.path("outbox")) == {"a.edi"}


# Authentication.

def test_password_authentication(sshd: Sshd, hub: Hub) -> None:
    if sshd.password is None:
        pytest.skip("password authentication for the test user needs root")
    sshd.put("outbox/a.edi", b"ISA~")
    src = source(sshd, hub, private_key=None, password=sshd.password)
    assert src.poll() == 1
    src.close()
    assert "Accepted password" in sshd.log_path.read_text()


def test_encrypted_key_file_authentication_never_logs_secrets(
    sshd: Sshd, hub: Hub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key_file = tmp_path / "id_ed25519"
    passphrase = "correct horse battery staple 42"
    encrypted = generate_key(passphrase)
    sshd.client_key = encrypted
    sshd.restart()  # authorized_keys now holds the encrypted key's public half
    key_file.write_text(encrypted.private_pem)
    sshd.put("outbox/a.edi", b"ISA~")
    src = source(sshd, hub, private_key=None, private_key_path=str(key_file),
                 private_key_passphrase=passphrase)
    assert src.poll() == 1
    src.close()
    assert "Accepted publickey" in sshd.log_path.read_text()
    secret_line = encrypted.private_pem.splitlines()[2]
    assert passphrase not in caplog.text and secret_line not in caplog.text


def test_wrong_credentials_fail_at_once_without_the_secret(sshd: Sshd, hub: Hub) -> None:
    sshd.put("outbox/a.edi", b"ISA~")
    src = source(sshd, hub, private_key=generate_key().private_pem,
                 password=SecretStr("wrong-password-123"))
    with pytest.raises(SftpAuthFailed) as caught:
        src.poll()
    assert sshd.user in str(caught.value) and "wrong-password-123" not in str(caught.value)
    assert hub.rows() == []
