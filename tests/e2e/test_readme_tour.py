"""README's five-minute tour, run verbatim against a real hub, checking what README says it answers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.hubproc import HubProcess

ROOT = Path(__file__).resolve().parents[2]


def tour_steps() -> list[tuple[str, list[str]]]:
    text = (ROOT / "README.md").read_text()
    block = text.split("## Five-minute tour", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    steps: list[tuple[str, list[str]]] = []
    for line in block.strip().splitlines():
        if line.startswith("# →"):
            steps[-1][1].append(line.removeprefix("# →").strip())
        elif line.strip() and not line.startswith("#"):
            steps.append((line, []))
    return steps


def test_tour_has_the_promised_steps() -> None:
    commands = " ".join(c for c, _ in tour_steps())
    for needle in ("apikey create", "/api/v1/partners", "/api/v1/inbound/", "/api/v1/documents",
                   "/api/v1/deadletters", "/replay", "/metrics"):
        assert needle in commands


def test_readme_configuration_table_is_current() -> None:
    from hub.settings import settings_table

    assert settings_table() in (ROOT / "README.md").read_text(), "run: crossdock config docs, paste into README"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_readme_tour_verbatim(tmp_path: Path, database_url: str) -> None:
    hub = HubProcess(tmp_path / "var", database_url=database_url)
    hub.env.pop("CROSSDOCK_BOOTSTRAP_ADMIN_KEY")  # the tour makes its own key with the CLI
    hub.start()
    # The tour runs from the repository root and calls .venv/bin/crossdock: mirror that layout.
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "crossdock").symlink_to(Path(sys.executable).parent / "crossdock")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    steps = tour_steps()
    script = "set -e\n" + "".join(f"{cmd}\necho; echo '@@step {i}@@'\n" for i, (cmd, _) in enumerate(steps))
    try:
        out = subprocess.run(["bash", "-c", script], cwd=tmp_path, env={**hub.env, "HUB": hub.url},
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"the tour stopped:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
        outputs = re.split(r"@@step \d+@@\n", out.stdout)
        for (command, expected), answer in zip(steps, outputs, strict=False):
            for fragment in expected:
                assert re.sub(r"\s", "", fragment) in re.sub(r"\s", "", answer), (
                    f"README says `{command}` answers {fragment!r}; it answered:\n{answer[-1500:]}")
    finally:
        hub.close()


def test_connector_reference_page_is_current() -> None:
    from hub.config_docs import connectors_reference

    page = (ROOT / "docs" / "connectors.md").read_text()
    assert page.strip() == connectors_reference().strip(), "run: crossdock config connectors > docs/connectors.md"
    for field in ("host_key", "signature_header", "pagination", "every_seconds", "as2_id"):
        assert f"`{field}`" in page
