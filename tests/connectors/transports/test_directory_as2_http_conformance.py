"""The watched folder, AS2 receiving and the hub's HTTP inbound endpoint pass the conformance suite."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors.base import Inbox
from connectors.transports.as2 import AS2PartnerConfig, build_request, receive
from connectors.transports.directory import DirectoryConfig, DirectorySource
from tests.connectors.conformance import Hub, SourceConformance, SourceHarness
from tests.connectors.transports.as2_support import make_keypair


class DirectoryHarness:
    """A payload at the source is a file in ``<root>/ACME/purchase_order/``."""

    config_model = DirectoryConfig
    secrets: Sequence[str] = ()
    invalid_values: Sequence[tuple[str, Any]] = [("settle_seconds", -1), ("stale_claim_seconds", 0)]

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / "ACME" / "purchase_order"
        self.folder.mkdir(parents=True)

    def valid_config(self) -> dict[str, Any]:
        return {"root": str(self.root), "settle_seconds": 0}

    def offer(self, name: str, payload: bytes | Path) -> None:
        target = self.folder / name
        if isinstance(payload, Path):
            shutil.copyfile(payload, target)
        else:
            target.write_bytes(payload)
        os.utime(target, (0, 0))  # long settled

    def take(self, inbox: Inbox) -> None:
        DirectorySource(config=DirectoryConfig.model_validate(self.valid_config()), inbox=inbox).poll()

    def pending(self, name: str) -> bool:
        # claimed (renamed to .processing) is still at the source: only processed/ is an ack
        return (self.folder / name).exists() or any(self.folder.glob(f"{name}.*.processing"))


class TestDirectoryConformance(SourceConformance):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> SourceHarness:
        return DirectoryHarness(tmp_path / "drop")

    def test_secrets_never_reach_logs_or_output(self, harness: SourceHarness, hub: Hub,  # type: ignore[override]
                                                caplog: pytest.LogCaptureFixture,
                                                capfd: pytest.CaptureFixture[str]) -> None:
        # A folder has no credentials: prove the config model has no secret to leak.
        from pydantic import SecretStr

        assert all(info.annotation is not SecretStr for info in DirectoryConfig.model_fields.values())


class AS2Harness:
    """A payload at the source is a signed AS2 message ACME is about to send (acknowledged by an MDN)."""

    config_model = AS2PartnerConfig
    invalid_values: Sequence[tuple[str, Any]] = [("timeout_s", 0), ("mic_algorithm", "md5")]

    def __init__(self) -> None:
        acme, ours = make_keypair("ACME"), make_keypair("CROSSDOCK")
        self.secrets = [acme.private_key_pem.split("\n")[1]]  # a line of ACME's private key
        self.sender = AS2PartnerConfig(as2_id="CROSSDOCK", our_as2_id="ACME", url="http://127.0.0.1:9/as2",
                                       sign=True, our_certificate_pem=acme.certificate_pem,
                                       our_private_key_pem=acme.private_key_pem, partner_certificate_pem=ours.certificate_pem)
        self.profile = AS2PartnerConfig(as2_id="ACME", our_as2_id="CROSSDOCK", require_signed=True,
                                        partner_certificate_pem=acme.certificate_pem, our_certificate_pem=ours.certificate_pem,
                                        our_private_key_pem=ours.private_key_pem)
        self.outstanding: dict[str, tuple[dict[str, str], bytes]] = {}

    def valid_config(self) -> dict[str, Any]:
        return {"as2_id": "ACME", "our_as2_id": "CROSSDOCK"}

    def offer(self, name: str, payload: bytes | Path) -> None:
        body = payload.read_bytes() if isinstance(payload, Path) else payload
        request = build_request(body, config=self.sender, filename=name)
        self.outstanding[name] = (request.headers, request.body)

    def take(self, inbox: Inbox) -> None:
        for name, (headers, body) in list(self.outstanding.items()):
            answer = receive(headers, body, inbox=inbox, profiles={"ACME": self.profile})
            if answer.status_code == 200 and answer.error is None:
                del self.outstanding[name]

    def pending(self, name: str) -> bool:
        return name in self.outstanding


class TestAS2Conformance(SourceConformance):
    large_payload_bytes = 8 * 1024 * 1024  # signed in memory (S/MIME): bounded by the AS2 size limit
    memory_budget_ratio = 12.0

    @pytest.fixture
    def harness(self) -> SourceHarness:
        return AS2Harness()


class HttpInboundHarness:
    """The hub's ``POST /api/v1/inbound/{partner}/{type}`` through its real FastAPI app."""

    invalid_values: Sequence[tuple[str, Any]] = [("max_body_bytes", 10), ("inbound_wait_seconds", -1)]

    def __init__(self, hub: Hub, tmp: Path) -> None:
        from hub.app import Hub as CrossdockHub
        from hub.app import create_app
        from hub.auth import create_key
        from hub.settings import Settings

        self.settings = Settings(data_dir=tmp, database_url=hub.db.url, max_body_bytes=64 * 1024 * 1024,
                                 watch_dir=Path(""), inbound_wait_seconds=0)
        self.app_hub = CrossdockHub(self.settings)
        with self.app_hub.db.session() as s:
            _, self.key = create_key(s, name="sender", role="ingest")
        self.secrets = [self.key]
        self.client = TestClient(create_app(self.settings, hub=self.app_hub), raise_server_exceptions=False)
        self.outstanding: dict[str, bytes] = {}

    @property
    def config_model(self) -> type[Any]:
        from hub.settings import Settings

        return Settings

    def valid_config(self) -> dict[str, Any]:
        return {}

    def offer(self, name: str, payload: bytes | Path) -> None:
        self.outstanding[name] = payload.read_bytes() if isinstance(payload, Path) else payload

    def take(self, inbox: Inbox) -> None:
        self.app_hub.inbox = inbox  # type: ignore[assignment]
        for name, body in list(self.outstanding.items()):
            r = self.client.post("/api/v1/inbound/ACME/purchase_order", content=body,
                                 headers={"Authorization": f"Bearer {self.key}", "Prefer": "respond-async"})
            if r.status_code < 300:
                del self.outstanding[name]

    def pending(self, name: str) -> bool:
        return name in self.outstanding


class TestHttpInboundConformance(SourceConformance):
    large_payload_bytes = 20 * 1024 * 1024
    memory_budget_ratio = 3.5  # an HTTP body is read whole (bounded by CROSSDOCK_MAX_BODY_BYTES)

    @pytest.fixture
    def harness(self, hub: Hub, tmp_path: Path) -> SourceHarness:
        return HttpInboundHarness(hub, tmp_path / "app")

    def test_bad_config_is_refused_naming_the_field(self, harness: SourceHarness) -> None:  # type: ignore[override]
        from pydantic import ValidationError

        from hub.settings import Settings

        for field, bad in harness.invalid_values:
            with pytest.raises(ValidationError) as caught:
                Settings(**{field: bad})
            assert field in str(caught.value)
