"""Uploading to a partner over SFTP: nothing half-written is ever visible under its name."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from connectors.transports.sftp import HostKeyRejected, SftpConfig, SftpSink
from tests.connectors.conformance import write_payload_file
from tests.support import sshd as sshd_support
from tests.support.sshd import Sshd, generate_key

pytestmark = pytest.mark.sshd
sshd = sshd_support.sshd  # fixtures used by this module
sshd_factory = sshd_support.sshd_factory


def sink_config(server: Sshd, **overrides: Any) -> SftpConfig:
    data: dict[str, Any] = {
        "partner_id": "ACME", "host": "127.0.0.1", "port": server.port,
        "username": server.user, "private_key": server.client_key.private_pem,
        "host_key": server.known_hosts_line, "outbound_dir": str(server.mkdir("inbox")),
        "reconnect_attempts": 2, "reconnect_initial_wait_s": 0.05,
    }
    return SftpConfig.model_validate({**data, **overrides})


def test_upload_lands_whole_under_its_final_name(sshd: Sshd) -> None:
    with SftpSink(sink_config(sshd)) as sink:
        path = sink.send("855-0001.edi", b"ISA*855~")
        assert path == str(sshd.path("inbox/855-0001.edi"))
        sink.send("855-0001.edi", b"ISA*855*replaced~")  # same name again: replaced
    assert sshd.path("inbox/855-0001.edi").read_bytes() == b"ISA*855*replaced~"
    assert sorted(p.name for p in sshd.path("inbox").iterdir()) == ["855-0001.edi"]


@pytest.mark.slow
def test_no_partial_file_is_ever_visible_under_the_final_name(sshd: Sshd, tmp_path: Path) -> None:
    size = 24 * 1024 * 1024
    body = tmp_path / "856.bin"
    sha = write_payload_file(body, size)
    final, part = sshd.path("inbox/856.edi"), sshd.path("inbox/.856.edi.part")
    seen_part, partial, done = [False], [], threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen_part[0] |= part.exists()
            try:
                visible = final.stat().st_size
            except FileNotFoundError:
                continue
            if visible != size:
                partial.append(visible)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with SftpSink(sink_config(sshd)) as sink, body.open("rb") as fh:
            sink.send("856.edi", fh)
    finally:
        done.set()
        watcher.join()
    assert seen_part[0], "the upload was never seen in progress: the check proved nothing"
    assert partial == [], f"partial sizes visible under the final name: {partial[:5]}"
    assert hashlib.sha256(final.read_bytes()).hexdigest() == sha
    assert not part.exists()


def test_upload_refuses_an_unknown_host_key(sshd: Sshd) -> None:
    with SftpSink(sink_config(sshd, host_key=generate_key().public_line)) as sink, \
            pytest.raises(HostKeyRejected, match=re.escape(sshd.host_key.fingerprint)):
        sink.send("a.edi", b"ISA~")
    assert list(sshd.path("inbox").iterdir()) == []


def test_upload_survives_a_restarted_server(sshd: Sshd) -> None:
    with SftpSink(sink_config(sshd)) as sink:
        sink.send("first.edi", b"ISA*1~")
        sshd.restart()  # the kept connection is dead now
        sink.send("second.edi", b"ISA*2~")
    assert sshd.path("inbox/second.edi").read_bytes() == b"ISA*2~"


@pytest.mark.parametrize("name", ["", "../escape.edi", "sub/dir.edi", ".hidden"])
def test_unsafe_names_are_refused(sshd: Sshd, name: str) -> None:
    with SftpSink(sink_config(sshd)) as sink, pytest.raises(ValueError, match="file name"):
        sink.send(name, b"ISA~")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_an_upload_cut_off_mid_way_is_sent_again_whole(sshd: Sshd, tmp_path: Path) -> None:
    size = 24 * 1024 * 1024
    body = tmp_path / "810.bin"
    sha = write_payload_file(body, size)
    part, killed, done = sshd.path("inbox/.810.edi.part"), threading.Event(), threading.Event()

    def kill_mid_upload() -> None:
        while not done.is_set():
            if part.exists() and part.stat().st_size > 4 * 1024 * 1024:
                sshd.kill()
                killed.set()
                sshd.start()  # same port, same host key
                return

    killer = threading.Thread(target=kill_mid_upload, daemon=True)
    killer.start()
    config = sink_config(sshd, reconnect_attempts=20, reconnect_initial_wait_s=0.1,
                         reconnect_max_wait_s=0.5)
    try:
        with SftpSink(config) as sink, body.open("rb") as fh:
            sink.send("810.edi", fh)
    finally:
        done.set()
        killer.join(timeout=30)
    assert killed.is_set(), "sshd was never killed mid-upload"
    assert hashlib.sha256(sshd.path("inbox/810.edi").read_bytes()).hexdigest() == sha
    assert not part.exists()
