"""The ``crossdock`` command.

Usage:
    crossdock serve                                 # the hub on 127.0.0.1:8400
    crossdock apikey create --name ops --role operator
    crossdock ingest order.json --partner ACME --type purchase_order
"""

from __future__ import annotations

import getpass
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.settings import Settings, settings_table

__all__ = ["app", "main"]

app = typer.Typer(help="Crossdock: an integration hub for wholesale distributors.", no_args_is_help=True,
                  add_completion=False)
dlq = typer.Typer(help="Dead letters: list, inspect, replay, discard.", no_args_is_help=True)
apikey = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
schemas = typer.Typer(help="JSON Schemas of the canonical documents.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
partners_app = typer.Typer(help="Partner profiles.", no_args_is_help=True)
for sub, name in ((dlq, "dlq"), (apikey, "apikey"), (schemas, "schemas"), (db_app, "db"),
                  (config_app, "config"), (partners_app, "partners")):
    app.add_typer(sub, name=name)


@app.callback()
def _setup() -> None:
    """Crossdock: an integration hub for wholesale distributors."""
    from hub.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no passwd entry in some containers
        return "cli:unknown"


def _database() -> Any:
    from hub.storage.db import Database
    from hub.storage.migrate import upgrade

    settings = Settings()
    db = Database(settings.effective_database_url)
    upgrade(db.url)
    return db


def _echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (env CROSSDOCK_HOST; default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (env CROSSDOCK_PORT; default 8400)")] = None,
) -> None:
    """Start the hub: API, inbound endpoints, workers and scheduler in one process.

    Example: crossdock serve --port 8400
    """
    import uvicorn

    from hub.app import create_app
    from hub.logging import configure_logging

    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None,
                access_log=False, timeout_graceful_shutdown=30)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Jobs run at once in this process (threads)")] = 2,
    metrics_port: Annotated[int, typer.Option(help="Serve this worker's /metrics on CROSSDOCK_HOST:PORT (0: off)")] = 0,
) -> None:
    """Distributed mode: run jobs from RabbitMQ (CROSSDOCK_BROKER_URL) until SIGTERM, which finishes the jobs in hand.

    Example: CROSSDOCK_DATABASE_URL=postgresql+psycopg://crossdock@db/crossdock crossdock worker --concurrency 2
    """
    from hub.app import Hub
    from hub.runtime.distributed import DistributedRuntime, run_worker

    settings = Settings(mode="distributed")
    hub = Hub(settings)
    assert isinstance(hub.runtime, DistributedRuntime)
    try:
        run_worker(hub.runtime, concurrency=concurrency, loglevel=settings.log_level, metrics_port=metrics_port)
    finally:
        hub.db.dispose()


@app.command()
def scheduler() -> None:
    """Distributed mode: run due retries, the outbox relay and timed tasks; one active, the others stand by.

    Example: CROSSDOCK_DATABASE_URL=postgresql+psycopg://crossdock@db/crossdock crossdock scheduler
    """
    import signal
    import threading

    from hub.app import Hub
    from hub.runtime.leader import Leader

    settings = Settings(mode="distributed")
    hub = Hub(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        Leader(hub.db, hub.scheduler, ttl=settings.scheduler_lease_seconds,
               interval=settings.scheduler_interval_seconds).run(stop)
    finally:
        hub.db.dispose()


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The payload to take in")],
    partner: Annotated[str, typer.Option(help="Sending partner id")],
    type_: Annotated[str, typer.Option("--type", help="Document type, e.g. purchase_order")],
    wait: Annotated[float, typer.Option(help="Seconds to wait for the outcome")] = 10.0,
) -> None:
    """Store a file in the inbox (raw first) and print what became of it.

    If no hub is running on this database, the file is processed right here.
    Example: crossdock ingest order.json --partner ACME --type purchase_order
    """
    from connectors.base import Receipt
    from hub.app import Hub
    from hub.receipts import receipt_state

    settings = Settings()
    hub = Hub(settings)
    from hub.storage.migrate import upgrade

    upgrade(hub.db.url)
    with file.open("rb") as fh:
        stored = hub.inbox.store(Receipt(partner_id=partner, channel="cli", document_type=type_,
                                         filename=file.name, meta={"actor": _actor()}), fh)
    standalone = _try_standalone(hub)
    deadline = time.monotonic() + wait
    state = None
    while True:
        if standalone:
            _process_due(hub)
        with hub.db.reader() as s:
            state = receipt_state(s, stored.receipt_id)
        if state is None or state.status not in ("received", "retrying") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if standalone:
        hub.runtime.release_lock()  # type: ignore[attr-defined]  # standalone only in embedded mode
    assert state is not None
    _echo_json(state.as_dict())
    raise typer.Exit(1 if state.status == "failed" else 0)


def _process_due(hub: Any) -> None:
    """No hub is running on this database: do its work here, in order."""
    from sqlalchemy import select

    from hub.storage.tables import Job, utcnow

    with hub.db.reader() as s:
        due = list(s.scalars(select(Job.id).where(Job.status.in_(("queued", "retrying")),
                                                  Job.next_attempt_at <= utcnow()).order_by(Job.id)))
    for job_id in due:
        hub.processor.process(job_id)


def _try_standalone(hub: Any) -> bool:
    from hub.runtime.embedded import AlreadyRunning, EmbeddedRuntime

    if not hub.db.is_sqlite or not isinstance(hub.runtime, EmbeddedRuntime):
        return False
    try:
        hub.runtime._take_lock()
    except AlreadyRunning:
        return False
    return True


@app.command()
def parse(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSON document(s) to parse")],
    type_: Annotated[str | None, typer.Option("--type", help="Document type when the JSON does not say")] = None,
    partner: Annotated[str, typer.Option(help="Partner the file comes from (for defaults)")] = "unknown",
) -> None:
    """Print canonical JSON lines for a file; on bad input, exit 1 naming the field.

    Example: crossdock parse order.json --type purchase_order
    """
    from canonical.errors import CrossdockError
    from hub.edi.cli import print_batch
    from hub.edi.decode import EdiBatch
    from hub.stages import decode, map_to_canonical
    from pipelines.runner import Message

    raw = file.read_bytes()
    message = Message(receipt_id=0, partner_id=partner, channel="cli", raw=raw, document_type=type_)
    try:
        decode(message, None)  # type: ignore[arg-type]
        if isinstance(message.data, EdiBatch):  # X12 / EDIFACT: one line per set
            print_batch(file, message.data, partner)
            return
        if message.document_type is None:
            first = message.data[0] if isinstance(message.data, list) and message.data else message.data
            message.document_type = first.get("document_type") if isinstance(first, dict) else None
        map_to_canonical(message, None)  # type: ignore[arg-type]
    except CrossdockError as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(1) from None
    for doc in message.documents:
        typer.echo(doc.model_dump_json())


@app.command()
def render(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Canonical JSON document")],
    standard: Annotated[str, typer.Option(help="x12 or edifact")] = "x12",
    set_: Annotated[str, typer.Option("--set", help="850, 855, 856, 810, 860 / ORDERS, ORDRSP, DESADV, INVOIC")] = "850",
    version: Annotated[str | None, typer.Option(help="004010, 005010 / D96A")] = None,
    sender: Annotated[str, typer.Option(help="Our interchange id")] = "CROSSDOCK",
    receiver: Annotated[str, typer.Option(help="The partner's interchange id")] = "PARTNER",
) -> None:
    """Write EDI from canonical JSON. Example: crossdock render --standard x12 --set 850 po.json"""
    import sys

    from canonical.errors import CrossdockError
    from hub.edi.cli import render_file

    try:
        payload = render_file(file, standard=standard.lower(), set_id=set_.upper(), version=version,
                              sender=sender, receiver=receiver)
    except (CrossdockError, ValueError) as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(1) from None
    sys.stdout.buffer.write(payload + b"\n")


# ------------------------------------------------------------------------------ dlq
@dlq.command("list")
def dlq_list(status: Annotated[str, typer.Option(help="open, replaying, resolved, discarded or all")] = "open",
             partner: Annotated[str | None, typer.Option()] = None, limit: int = 50) -> None:
    """List dead letters. Example: crossdock dlq list --partner ACME"""
    from deadletter import service

    with _database().reader() as s:
        rows = service.list_dead_letters(s, status=None if status == "all" else status, partner_id=partner,
                                         limit=limit)
        for r in rows:
            typer.echo(f"{r.id}\t{r.status}\t{r.partner_id}\t{r.stage}\t{r.error_code}\t{r.error[:100]}")


@dlq.command("show")
def dlq_show(dead_letter_id: int) -> None:
    """Show one dead letter with its raw payload and attempts. Example: crossdock dlq show 7"""
    from deadletter import service
    from hub.inbox import BlobStore
    from hub.storage.tables import InboxEntry

    with _database().reader() as s:
        dl = service.get(s, dead_letter_id)
        if dl is None:
            typer.echo(f"no dead letter {dead_letter_id}", err=True)
            raise typer.Exit(1)
        entry = s.get(InboxEntry, dl.inbox_id) if dl.inbox_id else None
        raw = None
        if entry is not None:
            raw = entry.raw if entry.raw is not None else BlobStore(Settings().blob_dir).read(entry.blob_path or "")
        _echo_json(service.detail(s, dl, raw=raw).model_dump(mode="json"))


@dlq.command("replay")
def dlq_replay(dead_letter_id: int, reason: Annotated[str | None, typer.Option(help="Why (audited)")] = None) -> None:
    """Queue a dead letter again; a running hub picks it up. Example: crossdock dlq replay 7 --reason 'partner added'"""
    from deadletter import service

    with _database().session() as s:
        dl = service.get(s, dead_letter_id)
        if dl is None:
            typer.echo(f"no dead letter {dead_letter_id}", err=True)
            raise typer.Exit(1)
        try:
            job_id = service.replay(s, dl, actor=_actor(), reason=reason)
        except service.DeadLetterStateError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"dead letter {dead_letter_id} queued again as job {job_id}")


@dlq.command("discard")
def dlq_discard(dead_letter_id: int, reason: Annotated[str, typer.Option(help="Why (required, audited)")]) -> None:
    """Give up on a dead letter. Example: crossdock dlq discard 7 --reason 'test order'"""
    from deadletter import service

    with _database().session() as s:
        dl = service.get(s, dead_letter_id)
        if dl is None:
            typer.echo(f"no dead letter {dead_letter_id}", err=True)
            raise typer.Exit(1)
        try:
            service.discard(s, dl, actor=_actor(), reason=reason)
        except service.DeadLetterStateError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from None
    typer.echo(f"dead letter {dead_letter_id} discarded")


# --------------------------------------------------------------------------- apikey
@apikey.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="A name for the key's holder")],
    role: Annotated[str, typer.Option(help="viewer, operator, admin or ingest")],
    partner: Annotated[str | None, typer.Option(help="ingest keys: the only partner it may send for")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the key")] = False,
) -> None:
    """Create an API key and print it once (only its hash is stored).

    Example: crossdock apikey create --name ops --role operator
    """
    from hub.auth import ROLES, create_key
    from hub.storage.audit import record_audit

    if role not in ROLES:
        typer.echo(f"role must be one of {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    from sqlalchemy.exc import IntegrityError

    try:
        with _database().session() as s:
            row, key = create_key(s, name=name, role=role, partner_id=partner)
            record_audit(s, actor=_actor(), action="apikey.create", target_type="api_key", target_id=row.id,
                         details={"name": name, "role": role, "partner": partner})
    except IntegrityError:
        typer.echo(f"a key named {name!r} exists", err=True)
        raise typer.Exit(1) from None
    typer.echo(key if quiet else f"{key}\n(key {name!r}, role {role}: shown once, keep it safe)")


@apikey.command("list")
def apikey_list() -> None:
    """List keys (names, roles, prefixes; never the keys). Example: crossdock apikey list"""
    from sqlalchemy import select

    from hub.storage.tables import ApiKey

    with _database().reader() as s:
        for r in s.scalars(select(ApiKey).order_by(ApiKey.id)):
            state = f"revoked {r.revoked_at:%Y-%m-%d}" if r.revoked_at else "active"
            typer.echo(f"{r.id}\t{r.name}\t{r.role}\tcdk_{r.prefix}_…\t{state}")


@apikey.command("revoke")
def apikey_revoke(name: str) -> None:
    """Revoke a key by name. Example: crossdock apikey revoke ops"""
    from sqlalchemy import select

    from hub.storage.audit import record_audit
    from hub.storage.tables import ApiKey, utcnow

    with _database().session() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.name == name))
        if row is None:
            typer.echo(f"no key named {name!r}", err=True)
            raise typer.Exit(1)
        row.revoked_at = row.revoked_at or utcnow()
        record_audit(s, actor=_actor(), action="apikey.revoke", target_type="api_key", target_id=row.id)
    typer.echo(f"key {name!r} revoked")


# ----------------------------------------------------------------- schemas, db, config
@schemas.command("export")
def schemas_export(directory: Path) -> None:
    """Write one JSON Schema per canonical document. Example: crossdock schemas export schemas/"""
    from canonical import export_schemas

    for path in export_schemas(directory):
        typer.echo(str(path))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the current schema. Example: crossdock db upgrade"""
    from hub.storage.migrate import upgrade

    url = Settings().effective_database_url
    upgrade(url)
    typer.echo(f"database at head ({url.split('@')[-1]})")


@config_app.command("docs")
def config_docs() -> None:
    """Print the configuration table (every CROSSDOCK_* variable). Example: crossdock config docs"""
    typer.echo(settings_table())


@config_app.command("connectors")
def config_connectors() -> None:
    """Print the connector configuration reference (docs/connectors.md). Example: crossdock config connectors"""
    from hub.config_docs import connectors_reference

    typer.echo(connectors_reference())


@partners_app.command("list")
def partners_list() -> None:
    """List partners. Example: crossdock partners list"""
    from sqlalchemy import select

    from hub.storage.tables import Partner

    with _database().reader() as s:
        for p in s.scalars(select(Partner).order_by(Partner.id)):
            typer.echo(f"{p.id}\t{p.role}\t{'active' if p.active else 'inactive'}\t{p.name}")


@partners_app.command("load")
def partners_load(directory: Path) -> None:
    """Load partner profiles from YAML files. Example: crossdock partners load partners/"""
    from canonical.errors import ConfigurationError
    from hub.partners import load_profile_files

    try:
        with _database().session() as s:
            loaded = load_profile_files(s, directory)
    except ConfigurationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"loaded {len(loaded)} partner(s): {', '.join(loaded)}")


@app.command()
def reconcile(job: Annotated[str, typer.Argument(
        help="sales_orders, billing, supplier_postings, partner_documents or all")] = "all") -> None:
    """Compare the hub's orders with the ERP now; prints the recorded run. Example: crossdock reconcile billing"""
    from hub.reconcile import Reconciler, UnknownJob
    from hub.storage.reconcile_tables import ReconcileRun

    db = _database()
    try:
        run_id = Reconciler(db).run(job, trigger="cli", actor=_actor())
    except UnknownJob as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    with db.reader() as s:
        run = s.get(ReconcileRun, run_id)
        assert run is not None
        failed = run.status == "failed"
        _echo_json({"id": run.id, "job": run.job, "status": run.status, "checked": run.checked,
                    "matched": run.matched, "mismatched": run.mismatched, "error": run.error,
                    "mismatches": (run.details or {}).get("mismatches", [])})
    if failed:
        raise typer.Exit(1)

def _register_ops() -> None:
    from hub.inbox import BlobStore
    from hub.ops.cli import register

    register(app, dlq, database=_database, actor=_actor, blob_reader=lambda p: BlobStore(Settings().blob_dir).read(p))
    from hub.intel.cli import register as register_intel

    register_intel(app, database=_database, actor=_actor)


_register_ops()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
