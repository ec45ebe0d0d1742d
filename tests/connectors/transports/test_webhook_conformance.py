"""Inbound webhooks pass the shared connector conformance suite.

A payload "at the source" is a signed delivery the partner is about to send; it is
acknowledged once ``receive_webhook`` answers 2xx (until then the partner sends it again,
with the same delivery id).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Inbox
from connectors.transports.webhook import (
    StateStoreReplayGuard,
    WebhookConfig,
    receive_webhook,
    sign_webhook,
)
from tests.connectors.conformance import Hub, SourceConformance, SourceHarness


class WebhookHarness:
    config_model = WebhookConfig
    invalid_values: Sequence[tuple[str, Any]] = [
        ("tolerance_seconds", 0), ("max_body_bytes", -1), ("signature_format", "md5"),
    ]

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.secrets = ["whsec_conformance_5b1e0c"]
        self.outstanding: dict[str, tuple[dict[str, str], bytes]] = {}

    def valid_config(self) -> dict[str, Any]:
        return {"secret": self.secrets[0], "document_type": "x12", "max_body_bytes": 64 * 1024 * 1024}

    def offer(self, name: str, payload: bytes | Path) -> None:
        body = payload.read_bytes() if isinstance(payload, Path) else payload
        config = WebhookConfig.model_validate(self.valid_config())
        headers = {**sign_webhook(body, config, timestamp=int(time.time())), "X-Crossdock-Delivery": name}
        self.outstanding[name] = (headers, body)

    def take(self, inbox: Inbox) -> None:
        config = WebhookConfig.model_validate(self.valid_config())
        guard = StateStoreReplayGuard(self.hub.state, partner_id="ACME")
        for name, (headers, body) in list(self.outstanding.items()):
            answer = receive_webhook("ACME", headers, body, config, inbox=inbox, now=time.time(),
                                     replay_guard=guard)
            if 200 <= answer.status_code < 300:
                del self.outstanding[name]

    def pending(self, name: str) -> bool:
        return name in self.outstanding


class TestWebhookConformance(SourceConformance):
    @pytest.fixture
    def harness(self, hub: Hub) -> SourceHarness:
        return WebhookHarness(hub)
