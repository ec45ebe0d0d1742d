"""SFTP configuration and host-key pins: pure logic, no server needed."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from connectors.config_docs import render_config_reference
from connectors.transports.sftp import AfterStore, HostKeyPin, SftpConfig
from tests.support.sshd import generate_key

KEY = generate_key()


def data(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"partner_id": "ACME", "host": "sftp.acme.example",
                            "username": "crossdock", "password": "s3cret-pw",
                            "host_key": KEY.public_line}
    return {**base, **overrides}


def test_defaults_are_safe() -> None:
    config = SftpConfig.model_validate(data(inbound=[{"path": "/out/orders/"}]))
    assert config.port == 22 and config.after_store is AfterStore.MOVE
    assert config.inbound[0].path == "/out/orders" and config.inbound[0].patterns == ("*",)
    assert config.archive_for("/out/orders") == "/out/orders/archive"
    assert "s3cret-pw" not in repr(config) and "s3cret-pw" not in config.model_dump_json()


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"host_key": "SHA256:short"}, "host_key", "SHA256"),
    ({"host_key": "ssh-nonsense AAAA"}, "host_key", "unknown host key type"),
    ({"host_key": "@revoked * " + KEY.public_line}, "host_key", "not supported"),
    ({"inbound": [{"path": "relative"}]}, "inbound", "absolute"),
    ({"inbound": [{"path": "/out", "patterns": []}]}, "inbound", "at least 1"),
    ({"port": 70000}, "port", "less than or equal"),
    ({"after_store": "shred"}, "after_store", "move"),
    ({"settle_seconds": -1}, "settle_seconds", "greater than or equal"),
])
def test_bad_values_are_refused_naming_the_field(
    overrides: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        SftpConfig.model_validate(data(**overrides))
    assert field in [str(p) for e in caught.value.errors() for p in e["loc"]]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"password": None}, "set password, private_key or private_key_path"),
    ({"private_key": "x", "private_key_path": "/k"}, "not both"),
    ({"host_key": f"other.example {KEY.public_line}"}, "not for sftp.acme.example:22"),
])
def test_inconsistent_settings_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SftpConfig.model_validate(data(**overrides))


def test_every_field_is_documented() -> None:
    undocumented = [n for n, f in SftpConfig.model_fields.items() if not f.description]
    assert undocumented == []


@pytest.mark.parametrize("text", [
    KEY.public_line, f"{KEY.public_line} ops@acme", KEY.fingerprint,
    f"sftp.acme.example,10.0.0.5 {KEY.public_line}", f"[sftp.acme.example]:2222 {KEY.public_line}",
], ids=["public-key", "public-key-with-comment", "fingerprint", "known-hosts", "known-hosts-with-port"])
def test_pins_in_every_form_carry_the_fingerprint(text: str) -> None:
    assert HostKeyPin.parse(text).fingerprint == KEY.fingerprint


def test_a_known_hosts_line_must_name_the_host() -> None:
    pin = HostKeyPin.parse(f"[sftp.acme.example]:2222 {KEY.public_line}")
    assert pin.names_host("sftp.acme.example", 2222)
    assert not pin.names_host("sftp.acme.example", 22)
    assert HostKeyPin.parse(f"|1|abc=|def= {KEY.public_line}").names_host("any", 22)


def test_the_reference_page_lists_every_field_and_marks_secrets() -> None:
    page = render_config_reference(SftpConfig, title="SFTP")
    rows = {line.split("|")[1].strip(" `"): line for line in page.splitlines()
            if line.startswith("| `")}
    assert set(SftpConfig.model_fields) | {"path", "patterns"} <= set(rows)
    assert "| yes |" in rows["password"] and "| yes |" in rows["private_key_passphrase"]
    assert "| no |" in rows["host_key"] and "required" in rows["host_key"]
    assert "### InboundDir" in page
