"""Commands of the operations features, added to ``crossdock`` by ``register``.

Usage:
    crossdock refdata import items.csv          # or a JSON file with any kinds
    crossdock dlq edit 7 --raw-file fixed.json --reason "date was in the past"
    crossdock dlq bulk-replay --partner ACME --error-code partner.unknown --rate 20 [--dry-run]
    crossdock dlq pause ACME --reason "ERP maintenance"; crossdock dlq resume ACME
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(1)


def register(app: typer.Typer, dlq: typer.Typer, *, database: Callable[[], Any], actor: Callable[[], str],
             blob_reader: Callable[[str], bytes]) -> None:
    """Add ``refdata`` and the ``dlq`` operations to the CLI."""
    refdata = typer.Typer(help="Reference data: items, customers, price lists, stock, units.", no_args_is_help=True)
    app.add_typer(refdata, name="refdata")

    @refdata.command("import")
    def refdata_import(file: Path, kind: Annotated[str | None, typer.Option(
            help="CSV only: items, customers, price_lists or stock (default: from the file name)")] = None) -> None:
        """Load a CSV or JSON file; records with a known key are replaced. Example: crossdock refdata import items.csv"""
        from canonical.errors import CrossdockError
        from hub.ops.refdata import import_file

        try:
            with database().session() as s:
                counts = import_file(s, file, kind=kind)
        except CrossdockError as exc:
            raise _fail(str(exc)) from None
        typer.echo(json.dumps({"file": file.name, "imported": counts}))

    @dlq.command("edit")
    def dlq_edit(dead_letter_id: int, reason: Annotated[str, typer.Option(help="Why (kept with the diff)")],
                 raw_file: Annotated[Path | None, typer.Option(help="The edited raw payload")] = None,
                 canonical_file: Annotated[Path | None, typer.Option(help="The edited canonical JSON")] = None) -> None:
        """Edit a dead letter's payload and replay it. Example: crossdock dlq edit 7 --raw-file f.json --reason '...'"""
        from deadletter import flows, service
        from hub.storage.tables import InboxEntry

        if (raw_file is None) == (canonical_file is None):
            raise _fail("give either --raw-file or --canonical-file")
        with database().session() as s:
            dl = service.get(s, dead_letter_id)
            if dl is None:
                raise _fail(f"no dead letter {dead_letter_id}")
            entry = s.get(InboxEntry, dl.inbox_id) if dl.inbox_id else None
            original = b"" if entry is None else (entry.raw if entry.raw is not None
                                                  else blob_reader(entry.blob_path or ""))
            try:
                job_id = flows.edit_and_replay(
                    s, dl, actor=actor(), reason=reason, original=original,
                    raw=raw_file.read_bytes() if raw_file else None,
                    canonical=json.loads(canonical_file.read_text()) if canonical_file else None)
            except service.DeadLetterStateError as exc:
                raise _fail(str(exc)) from None
        typer.echo(f"dead letter {dead_letter_id} edited and queued again as job {job_id}")

    @dlq.command("bulk-replay")
    def dlq_bulk_replay(
        partner: Annotated[str | None, typer.Option()] = None,
        document_type: Annotated[str | None, typer.Option("--type")] = None,
        error_code: Annotated[str | None, typer.Option()] = None,
        stage: Annotated[str | None, typer.Option()] = None,
        since: Annotated[datetime | None, typer.Option(help="Dead letters created at or after (ISO 8601)")] = None,
        until: Annotated[datetime | None, typer.Option(help="... and before (ISO 8601)")] = None,
        rate: Annotated[float, typer.Option(help="Jobs released per second")] = 10.0,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count")] = False,
        reason: Annotated[str | None, typer.Option(help="Why (audited)")] = None,
    ) -> None:
        """Replay every open dead letter a filter selects. Example: crossdock dlq bulk-replay --partner ACME --dry-run"""
        from deadletter import flows, service

        flt = flows.BulkFilter(partner_id=partner, document_type=document_type, error_code=error_code,
                               stage=stage, since=since, until=until)
        with database().session() as s:
            try:
                result = flows.bulk_replay(s, flt, actor=actor(), reason=reason, rate=rate, dry_run=dry_run)
            except service.DeadLetterStateError as exc:
                raise _fail(str(exc)) from None
        verb = "would replay" if dry_run else "replaying"
        typer.echo(f"{verb} {result.count} dead letter(s) at {rate}/s ({result.seconds:.1f} s)")

    def _pause(partner_id: str, paused: bool, reason: str | None) -> None:
        from deadletter import flows, service

        with database().session() as s:
            try:
                waiting = flows.set_paused(s, partner_id, paused=paused, actor=actor(), reason=reason)
            except service.DeadLetterStateError as exc:
                raise _fail(str(exc)) from None
        typer.echo(f"partner {partner_id} {'paused' if paused else 'resumed'}; {waiting} job(s) waiting")

    @dlq.command("pause")
    def dlq_pause(partner_id: str, reason: Annotated[str | None, typer.Option(help="Why (audited)")] = None) -> None:
        """Hold a partner's processing (jobs stay queued). Example: crossdock dlq pause ACME"""
        _pause(partner_id, True, reason)

    @dlq.command("resume")
    def dlq_resume(partner_id: str, reason: Annotated[str | None, typer.Option(help="Why (audited)")] = None) -> None:
        """Resume a paused partner. Example: crossdock dlq resume ACME"""
        _pause(partner_id, False, reason)
