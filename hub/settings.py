"""Crossdock's settings: every ``CROSSDOCK_*`` environment variable, with its default.

The same model feeds validation, ``crossdock config docs`` and README's configuration table.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "settings_table"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CROSSDOCK_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address `crossdock serve` listens on")
    port: int = Field(8400, description="Port `crossdock serve` listens on")
    mode: Literal["embedded", "distributed"] = Field(
        "embedded",
        description="`embedded`: one process, in-process workers and scheduler. `distributed`: Celery workers on RabbitMQ",
    )
    data_dir: Path = Field(Path("var"), description="Where the embedded default keeps its database, blobs and watched folders")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default `sqlite:///<data_dir>/crossdock.db`. PostgreSQL: `postgresql+psycopg://user@host/db`",
    )
    broker_url: str = Field("amqp://guest:guest@127.0.0.1:5672//", description="RabbitMQ URL for distributed mode")
    queue_prefix: str = Field(
        "crossdock", description="Distributed mode: RabbitMQ exchange and queue names (`<prefix>.ingest`, `<prefix>.deliver`)"
    )
    scheduler_lease_seconds: float = Field(
        10.0, gt=0, description="Distributed mode: a standby `crossdock scheduler` takes over once the active one has been silent this long"
    )
    republish_after_seconds: float = Field(
        3600.0, gt=0,
        description="Distributed mode: a job handed to the broker this long ago without an outcome is handed out again (a safety net; keep it above the longest queue backlog)",
    )
    worker_prefetch: int = Field(
        4, ge=1, le=100,
        description="Distributed mode: messages each worker thread holds unacknowledged (at 1 a thread waits for the "
                    "broker between jobs); a killed worker's go back to the queue",
    )
    job_batch: int = Field(
        20, ge=1, le=500,
        description="Distributed mode: at most this many new ingest jobs in one broker message; a worker runs them "
                    "in one PostgreSQL transaction (1: a message and a transaction per job)",
    )
    workers: int = Field(4, ge=1, le=64, description="Worker threads in embedded mode")
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Largest inbound payload accepted (HTTP 413 above it)")
    inline_raw_max_bytes: int = Field(
        1024 * 1024, ge=0, description="Raw payloads up to this size live in the database; larger ones in the blob store"
    )
    inbound_wait_seconds: float = Field(
        10.0, ge=0, description="How long an inbound HTTP request waits for the outcome before answering 202"
    )
    watch_dir: Path | None = Field(
        None,
        description="Watched inbound folder, laid out `<partner>/<document_type>/`; default `<data_dir>/inbound`; empty string disables",
    )
    watch_interval_seconds: float = Field(1.0, gt=0, description="How often the watched folder is scanned")
    settle_seconds: float = Field(1.0, ge=0, description="A file is taken only once unchanged for this long")
    partners_dir: Path | None = Field(None, description="Folder of partner profile YAML files loaded at start")
    retry_max_attempts: int = Field(8, ge=1, description="Attempts before a transient failure becomes a dead letter")
    retry_initial_seconds: float = Field(2.0, gt=0, description="First retry delay (doubles each attempt, with jitter)")
    retry_max_seconds: float = Field(600.0, gt=0, description="Longest delay between two attempts")
    retry_max_age_seconds: float = Field(
        86400.0, gt=0, description="A document still failing this long after receipt becomes a dead letter"
    )
    retry_after_cap_seconds: float = Field(3600.0, gt=0, description="Largest Retry-After a partner or ERP can impose")
    scheduler_interval_seconds: float = Field(1.0, gt=0, description="How often the scheduler looks for due work")
    delivery_timeout_seconds: float = Field(15.0, gt=0, description="Timeout of outbound HTTP deliveries")
    reconcile_interval_seconds: float = Field(
        3600.0, gt=0, description="How often the reconciliation jobs compare the hub's orders with the ERP"
    )
    reconcile_window_days: int = Field(
        45, ge=0, description="What a reconciliation run compares: the hub's documents received, and the ERP's records "
        "created or changed, in this many days back (the other side of each is looked up at any age); 0: everything ever"
    )
    agents_mode: Literal["live", "dry_run", "off"] = Field(
        "live", description="Resolution agents: live (policies decide: execute, ask for approval or refuse), "
        "dry_run (record what they would have done, act on nothing) or off"
    )
    agent_policies: list[dict[str, Any]] = Field(
        default_factory=list, description="Hub-wide agent policies (JSON list), under each partner profile's `agents`; "
        'e.g. [{"agent": "price_within_tolerance", "mode": "auto", "max_amount": "250"}]. With none, every '
        "proposal waits for a person's approval"
    )
    intel_interval_seconds: float = Field(
        60.0, gt=0, description="How often agents, SLA-risk predictions, learned priority and flow anomaly checks run"
    )
    intel_retrain_hours: float = Field(
        24.0, gt=0, description="How often the SLA-risk and priority models are retrained from the hub's history"
    )
    erp_poll_seconds: float = Field(
        0.0, ge=0, description="How often Crossdock reads what changed in the ERP (products and customers into reference "
        "data; deliveries and billing documents out to customers as 856/810); 0: never"
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="`auto`: console on a terminal, JSON lines otherwise"
    )
    bootstrap_admin_key: SecretStr | None = Field(
        None, description="If set and no admin key exists, this key is created as `bootstrap` with the admin role"
    )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'crossdock.db').as_posix()}"

    @property
    def effective_watch_dir(self) -> Path | None:
        if self.watch_dir is None:
            return self.data_dir / "inbound"
        return None if str(self.watch_dir) in ("", ".") and not self.watch_dir.name else self.watch_dir

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def settings_table() -> str:
    """README's configuration table, generated from the model."""
    rows = ["| Variable | Default | What it does |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = "" if default is None else (default.as_posix() if isinstance(default, Path) else str(default))
        rows.append(f"| `CROSSDOCK_{name.upper()}` | `{shown}` | {field.description} |")
    return "\n".join(rows)
