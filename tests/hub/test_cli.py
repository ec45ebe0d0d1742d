"""The crossdock command: every command explains itself; parse, ingest and keys work offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CROSSDOCK = str(Path(sys.executable).parent / "crossdock")

COMMANDS = ["serve", "ingest", "parse", "dlq list", "dlq show", "dlq replay", "dlq discard", "apikey create",
            "apikey list", "apikey revoke", "schemas export", "db upgrade", "config docs", "partners list",
            "partners load"]


def run(*args: str, data: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CROSSDOCK_DATA_DIR": str(data), "CROSSDOCK_LOG_FORMAT": "json", "COLUMNS": "200"}
    env.pop("CROSSDOCK_DATABASE_URL", None)
    out = subprocess.run([CROSSDOCK, *args], env=env, capture_output=True, text=True, timeout=60, cwd=data.parent)
    if check:
        assert out.returncode == 0, out.stderr
    return out


@pytest.mark.parametrize("command", COMMANDS)
def test_help_says_what_and_gives_an_example(command: str, tmp_path: Path) -> None:
    out = run(*command.split(), "--help", data=tmp_path / "var")
    assert "Example" in out.stdout or "Usage" in out.stdout
    if command != "serve":
        assert "Example:" in out.stdout, f"`crossdock {command} --help` lacks an example"


def test_parse_prints_canonical_json_lines_and_names_bad_fields(tmp_path: Path) -> None:
    out = run("parse", str(ROOT / "examples" / "purchase-order.json"), data=tmp_path / "var")
    doc = json.loads(out.stdout.strip())
    assert doc["po_number"] == "PO-1001" and len(doc["idempotency_key"]) == 64
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"document_type": "purchase_order", "po_number": "P", "order_date": "2026-01-01",
                               "buyer": {"id": "A"}, "lines": [{"line_number": "1", "vendor_item": "X",
                                                               "quantity": "-1"}]}))
    failed = run("parse", str(bad), data=tmp_path / "var", check=False)
    assert failed.returncode == 1 and "lines[0].quantity" in failed.stderr


def test_ingest_without_a_running_hub_processes_in_place(tmp_path: Path) -> None:
    data = tmp_path / "var"
    out = run("ingest", str(ROOT / "examples" / "purchase-order.json"), "--partner", "ACME",
              "--type", "purchase_order", data=data, check=False)
    assert out.returncode == 1 and json.loads(out.stdout)["status"] == "dead_lettered"  # ACME unknown yet
    profiles = tmp_path / "partners"
    profiles.mkdir()
    (profiles / "acme.yaml").write_text("id: ACME\nname: Acme Retail\nrole: customer\n")
    assert "ACME" in run("partners", "load", str(profiles), data=data).stdout
    listed = run("dlq", "list", data=data).stdout
    dl_id = listed.split("\t", 1)[0]
    assert "partner.unknown" in listed
    assert "raw" in run("dlq", "show", dl_id, data=data).stdout
    run("dlq", "replay", dl_id, "--reason", "partner added", data=data)
    again = run("ingest", str(ROOT / "examples" / "globex-order.json"), "--partner", "ACME",
                "--type", "purchase_order", data=data)
    assert json.loads(again.stdout)["status"] == "processed"  # and the replayed one was processed too
    assert run("dlq", "list", data=data).stdout.strip() == ""


def test_bad_partner_file_names_partner_and_field(tmp_path: Path) -> None:
    profiles = tmp_path / "partners"
    profiles.mkdir()
    (profiles / "x.yaml").write_text("id: ACME\nname: Acme\nrole: wholesaler\n")
    out = run("partners", "load", str(profiles), data=tmp_path / "var", check=False)
    assert out.returncode == 1 and "ACME" in out.stderr and "role" in out.stderr


def test_api_keys_are_shown_once_and_stored_hashed(tmp_path: Path) -> None:
    data = tmp_path / "var"
    key = run("apikey", "create", "--name", "ops", "--role", "operator", "--quiet", data=data).stdout.strip()
    assert key.startswith("cdk_")
    assert key not in (data / "crossdock.db").read_bytes().decode("latin-1")
    listed = run("apikey", "list", data=data).stdout
    assert "ops" in listed and key not in listed
    assert run("apikey", "create", "--name", "x", "--role", "root", data=data, check=False).returncode == 2
    assert "revoked" in run("apikey", "revoke", "ops", data=data).stdout


def test_schemas_export(tmp_path: Path) -> None:
    out = run("schemas", "export", str(tmp_path / "schemas"), data=tmp_path / "var")
    assert "purchase_order.schema.json" in out.stdout
    assert json.loads((tmp_path / "schemas" / "invoice.schema.json").read_text())["title"] == "Invoice"
