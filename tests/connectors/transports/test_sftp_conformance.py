"""The SFTP source passes the shared connector conformance suite against a real sshd."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Inbox
from connectors.transports.sftp import SftpConfig, SftpSource
from tests.connectors.conformance import Hub, SourceConformance, SourceHarness
from tests.support import sshd as sshd_support
from tests.support.sshd import Sshd

pytestmark = pytest.mark.sshd
sshd = sshd_support.sshd  # fixtures used by this module
sshd_factory = sshd_support.sshd_factory


class SftpHarness:
    """Payloads are files in the partner's folder; acknowledged means moved out of it."""

    config_model = SftpConfig
    invalid_values: Sequence[tuple[str, Any]] = [
        ("port", 0), ("host_key", "not a host key"), ("host_key", "ssh-ed25519 AAAA!!"),
        ("settle_seconds", -1), ("after_store", "shred"), ("inbound", [{"path": "out/rel"}]),
        ("outbound_dir", "relative"), ("connect_timeout_s", 0),
    ]

    def __init__(self, server: Sshd, hub: Hub) -> None:
        assert server.password is not None, "password authentication needs root"
        self.server, self.hub = server, hub
        self.secrets = [server.password]
        self.inbound = server.mkdir("outbox")

    def valid_config(self) -> dict[str, Any]:
        return {
            "partner_id": "ACME", "host": "127.0.0.1", "port": self.server.port,
            "username": self.server.user, "password": self.server.password,
            "host_key": self.server.host_key.public_line, "settle_seconds": 0,
            "inbound": [{"path": str(self.inbound)}], "reconnect_attempts": 2,
            "reconnect_initial_wait_s": 0.1,
        }

    def offer(self, name: str, payload: bytes | Path) -> None:
        if isinstance(payload, Path):
            target = self.inbound / name
            shutil.copyfile(payload, target)
            os.chown(target, self.server.uid, self.server.gid)
        else:
            self.server.put(f"outbox/{name}", payload)

    def take(self, inbox: Inbox) -> None:
        source = SftpSource(config=SftpConfig.model_validate(self.valid_config()), inbox=inbox,
                            state=self.hub.state, node_id="conformance")
        try:
            source.poll()
        finally:
            source.close()

    def pending(self, name: str) -> bool:
        return (self.inbound / name).exists()


class TestSftpSourceConformance(SourceConformance):
    @pytest.fixture
    def harness(self, sshd: Sshd, hub: Hub) -> SourceHarness:
        if sshd.password is None:
            pytest.skip("password authentication for the test user needs root")
        return SftpHarness(sshd, hub)
