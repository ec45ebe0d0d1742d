"""``crossdock intel``: retrain the models, run the agents (or a dry run), show model cards.

Usage:
    crossdock intel retrain [sla_risk|priority]
    crossdock intel agents --dry-run
    crossdock intel models
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer

__all__ = ["register"]


def register(app: typer.Typer, *, database: Callable[[], Any], actor: Callable[[], str]) -> None:
    intel = typer.Typer(help="Exception intelligence: models, agents.", no_args_is_help=True)
    app.add_typer(intel, name="intel")

    def _intel() -> Any:
        from hub.intel.service import Intelligence
        from hub.ops.refdata import DbReferenceData
        from hub.settings import Settings

        db = database()
        return Intelligence(db, Settings(), DbReferenceData(db))

    @intel.command("retrain")
    def retrain(model: Annotated[str, typer.Argument(help="sla_risk, priority or all")] = "all") -> None:
        """Train new model versions from the hub's history now. Example: crossdock intel retrain sla_risk"""
        if model not in ("all", "sla_risk", "priority"):
            typer.echo(f"unknown model {model!r}: sla_risk, priority or all", err=True)
            raise typer.Exit(2)
        hub = _intel()
        names = ("sla_risk", "priority") if model == "all" else (model,)
        typer.echo(json.dumps([hub.train(n) for n in names], default=str, indent=2))

    @intel.command("agents")
    def agents(dry_run: Annotated[bool, typer.Option("--dry-run", help="Record what the agents would do; "
                                                     "do nothing")] = False) -> None:
        """Run the resolution agents over open cases now. Example: crossdock intel agents --dry-run"""
        hub = _intel()
        typer.echo(json.dumps(hub.agents.run(dry_run=dry_run, actor=actor()), default=str, indent=2))

    @intel.command("models")
    def models() -> None:
        """Model cards: active version, training window, metrics, earlier versions."""
        from hub.intel.models import card

        hub = _intel()
        with hub.db.reader() as s:
            typer.echo(json.dumps([card(s, n, drift=hub.drift(n)) for n in ("sla_risk", "priority")],
                                  default=str, indent=2))
