"""Shared fixtures: both databases, a real hub process, and sample documents."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.hubproc import HubProcess
from tests.support.services import postgres_database, sqlite_database

pytest_plugins = ["tests.support.mock_edi", "tests.support.mock_sap", "tests.support.sshd"]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every test that takes this runs once on SQLite and once on PostgreSQL, each migrated to the
    latest schema (a copy of a template: the hub's own start and ``crossdock db upgrade`` find nothing
    to do; tests of migrating from empty make their own database)."""
    if request.param == "sqlite":
        yield sqlite_database(tmp_path / "crossdock.db")
    else:
        with postgres_database() as url:
            yield url


@pytest.fixture
def hub_env() -> dict[str, str]:
    """Settings for the ``hub`` fixture's processes; a test module overrides it with a fixture of its own."""
    return {}


@pytest.fixture(params=["embedded", "distributed"])
def hub(request: pytest.FixtureRequest, tmp_path: Path, database_url: str, hub_env: dict[str, str]
        ) -> Iterator[HubProcess]:
    """A running hub: embedded on each database, or distributed (serve + worker + scheduler) on PostgreSQL."""
    if request.param == "distributed":
        from tests.support.cluster import Cluster

        proc: HubProcess = Cluster(tmp_path / "hub", database_url=database_url, env=hub_env)
    else:
        proc = HubProcess(tmp_path / "hub", database_url=database_url, env=hub_env)
    proc.start()
    try:
        yield proc
    finally:
        proc.close()


# Suites proven in distributed mode too; a suite joins once it passes there (its `hub` tests then
# also run as serve + worker + scheduler on PostgreSQL and RabbitMQ).
DISTRIBUTED_SUITES = ("tests/e2e/test_foundation.py", "tests/e2e/test_pipelines_deadletters.py",
                      "tests/e2e/test_pipelines_orders.py", "tests/e2e/test_pipelines_cases.py",
                      "tests/e2e/test_edi_seller.py", "tests/e2e/test_edi_buyer.py", "tests/e2e/test_edi_http.py",
                      "tests/e2e/test_edi_behaviours.py", "tests/e2e/test_edi_directory.py",
                      "tests/e2e/test_edi_async_mdn.py", "tests/e2e/test_erp_writeback.py",
                      "tests/e2e/test_edi_burst.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Distributed mode runs on PostgreSQL only, for the suites listed above; those suites run
    embedded on SQLite (the default) and distributed on PostgreSQL, so their embedded-on-PostgreSQL
    run adds time and no coverage (the storage code is the same as distributed mode's)."""

    def dropped_item(item: pytest.Item) -> bool:
        params = item.callspec.params  # type: ignore[attr-defined]
        listed = item.nodeid.startswith(DISTRIBUTED_SUITES)
        if params.get("hub") == "distributed":
            return params.get("database_url") == "sqlite" or not listed
        return params.get("hub") == "embedded" and params.get("database_url") == "postgres" and listed

    dropped = [item for item in items if getattr(item, "callspec", None) is not None and dropped_item(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture
def purchase_order() -> dict[str, Any]:
    return copy.deepcopy(json.loads((EXAMPLES / "purchase-order.json").read_text()))
