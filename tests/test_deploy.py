"""The deploy files are valid YAML, name commands and settings that exist, and wire every role."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from hub.cli import app
from hub.settings import Settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
FILES = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


def _docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _walk(node: Any) -> Any:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _commands() -> list[tuple[str, list[str]]]:
    found = []
    for path in FILES:
        for doc in _docs(path):
            for node in _walk(doc):
                if isinstance(node, dict) and isinstance(node.get("command"), list) and node["command"][:1] == ["crossdock"]:
                    found.append((path.name, node["command"][1:]))
    return found


def test_every_file_is_valid_yaml() -> None:
    assert len(FILES) >= 8
    for path in FILES:
        assert _docs(path), path


def test_compose_runs_every_role() -> None:
    compose = _docs(DEPLOY / "compose.yaml")[0]
    services = compose["services"]
    assert {"api", "worker", "scheduler", "migrate", "rabbitmq", "postgres", "prometheus"} <= set(services)
    assert services["api"]["command"] == ["crossdock", "serve"]
    assert services["worker"]["command"][:2] == ["crossdock", "worker"]
    assert services["scheduler"]["command"] == ["crossdock", "scheduler"]
    assert services["migrate"]["command"] == ["crossdock", "db", "upgrade"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for port in (p for s in services.values() for p in s.get("ports", [])):
        assert port.startswith("127.0.0.1:"), port  # nothing published beyond the host
    prometheus = _docs(DEPLOY / "prometheus.yml")[0]
    crossdock = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "crossdock")
    assert crossdock["metrics_path"] == "/metrics"


def test_kubernetes_scales_workers_on_queue_depth() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for p in (DEPLOY / "kubernetes").glob("*.yaml")
             for d in _docs(p) if "kind" in d and "metadata" in d}
    for name in ("crossdock-api", "crossdock-worker", "crossdock-scheduler"):
        assert ("Deployment", name) in kinds
    assert ("Job", "crossdock-migrate") in kinds
    scaled = next(d for d in _docs(DEPLOY / "kubernetes" / "worker-autoscaling.yaml") if d["kind"] == "ScaledObject")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "crossdock-worker"
    queues = {t["metadata"]["queueName"] for t in scaled["spec"]["triggers"] if t["type"] == "rabbitmq"}
    assert queues == {"crossdock.ingest", "crossdock.deliver"}
    listed = _docs(DEPLOY / "kubernetes" / "kustomization.yaml")[0]["resources"]
    assert sorted(listed) == sorted(p.name for p in (DEPLOY / "kubernetes").glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("where,args", _commands(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_commands_exist(where: str, args: list[str]) -> None:
    """Each command line parses against the real CLI (unknown commands or options fail)."""
    result = CliRunner().invoke(app, [*args, "--help"])
    assert result.exit_code == 0, f"{where}: crossdock {' '.join(args)}: {result.output}"


def test_every_setting_named_exists() -> None:
    known = {f"CROSSDOCK_{name.upper()}" for name in Settings.model_fields}
    named = set()
    for path in [*FILES, DEPLOY / "README.md"]:
        named |= set(re.findall(r"CROSSDOCK_[A-Z_]+", path.read_text()))
    named -= {"CROSSDOCK_"}
    assert named and named <= known, named - known
