"""Database migrations (Alembic), driven from code so no alembic.ini is needed.

Usage:
    crossdock db upgrade            # or: upgrade("sqlite:///var/crossdock.db")
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

__all__ = ["alembic_config", "current_heads", "current_revision", "head_revision", "script_heads", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Migrate to every head: features add their tables on their own branches off 0001."""
    command.upgrade(alembic_config(url), revision)


def script_heads(url: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def current_heads(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def head_revision(url: str) -> str | None:
    """The heads as one comparable string (sorted, comma-joined)."""
    return ",".join(sorted(script_heads(url))) or None


def current_revision(engine: Engine) -> str | None:
    return ",".join(sorted(current_heads(engine))) or None
