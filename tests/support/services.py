"""Real services the tests need: a missing one skips locally and fails in CI.

CI sets CROSSDOCK_REQUIRE_SERVICES=1 so a service that is down fails the run instead of
quietly skipping what it should prove.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

__all__ = ["free_port", "postgres_database", "probe", "require_service", "services_required", "sqlite_database"]

PG_ADMIN_DSN = os.environ.get("CROSSDOCK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def services_required() -> bool:
    return os.environ.get("CROSSDOCK_REQUIRE_SERVICES") == "1"


def require_service(name: str, reason: str) -> None:
    message = f"{name} is not available: {reason}"
    if services_required():
        pytest.fail(message + " (CROSSDOCK_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


_probe: Any = None


def probe() -> Any:
    """One ``httpx.Client`` for the tests' health polls: a client per poll loads the CA bundle each
    time (about 40 ms of CPU), which adds up to seconds per started process."""
    global _probe
    if _probe is None:
        import httpx

        _probe = httpx.Client(timeout=1.0)
    return _probe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _migrations_digest() -> str:
    """Changes whenever a migration does, so a template never outlives its schema."""
    from hub.storage.migrate import MIGRATIONS

    h = hashlib.sha256()
    for f in sorted(MIGRATIONS.rglob("*.py")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:12]


def sqlite_database(path: Path, *, migrated: bool = True) -> str:
    """A SQLite URL at ``path``; ``migrated`` copies a database migrated once per schema
    (migrating from empty costs each test a second or two; tests of migrations ask for an empty one)."""
    if migrated:
        cache = Path(tempfile.gettempdir()) / f"crossdock-test-template-{_migrations_digest()}"
        cache.mkdir(exist_ok=True)
        template = cache / "crossdock.db"
        with (cache / "lock").open("w") as lock:  # xdist workers build it once between them
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not template.exists():
                from hub.storage.migrate import upgrade

                building = cache / "building.db"
                upgrade(f"sqlite:///{building}")
                building.rename(template)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def _pg_admin() -> Any:
    try:
        import psycopg

        return psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3)
    except Exception as exc:
        require_service("PostgreSQL", f"{PG_ADMIN_DSN}: {exc}")
        raise


def _pg_template(admin: Any, base: str) -> str:
    """A database migrated once per schema, for CREATE DATABASE ... TEMPLATE (a file copy)."""
    name = f"crossdock_tpl_{_migrations_digest()}"
    admin.execute("SELECT pg_advisory_lock(74201)")  # xdist workers build it once between them
    try:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            from hub.storage.migrate import upgrade

            for (old,) in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'crossdock_tpl_%%'"
                                        ).fetchall():
                admin.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')  # an older schema's
            building = f"{name}_building"
            admin.execute(f'CREATE DATABASE "{building}"')
            upgrade(f"{base}/{building}")
            admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    finally:
        admin.execute("SELECT pg_advisory_unlock(74201)")
    return name


@contextmanager
def postgres_database(*, migrated: bool = True) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, migrated to the latest schema unless
    ``migrated=False`` (then empty); dropped afterwards."""
    admin = _pg_admin()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    name = f"crossdock_t_{uuid.uuid4().hex[:12]}"
    template = f' TEMPLATE "{_pg_template(admin, base)}"' if migrated else ""
    for attempt in range(20):
        try:
            admin.execute(f'CREATE DATABASE "{name}"{template}')
            break
        except Exception as exc:  # another test is copying the same template this instant
            if "being accessed by other users" not in str(exc) or attempt == 19:
                raise
            time.sleep(0.1)
    admin.close()
    try:
        yield f"{base}/{name}"
    finally:
        with _pg_admin() as again:  # a new connection: a test may have restarted the server
            again.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
