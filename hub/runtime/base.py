"""What the hub needs from a runtime, whichever mode it runs in.

``EmbeddedRuntime`` (threads and an in-process queue) and ``DistributedRuntime`` (Celery on
RabbitMQ) both implement it; ``hub.app.Hub`` picks one by ``CROSSDOCK_MODE`` and the rest of
the hub (inbox, API, CLI) only talks to this protocol.

Usage:
    runtime: Runtime = EmbeddedRuntime(...)
    runtime.start(); runtime.submit(job_id); runtime.stop()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from hub.scheduler import Scheduler

__all__ = ["Runtime"]


class Runtime(Protocol):
    """Where jobs go once committed, and who runs the periodic tasks of this process.

    ``local`` holds the tasks every serving node runs (polling its transports); the
    hub's own ``Scheduler`` holds the tasks exactly one process runs at a time. In the
    embedded default the two are the same scheduler.
    """

    local: Scheduler

    def submit(self, job_id: int) -> None:
        """Hand a committed job to the workers (best effort: the database is the truth)."""

    def start(self) -> None:
        """Start the threads of this process."""

    def stop(self, timeout: float = 30.0) -> None:
        """Drain and stop; work not taken stays in the database."""

    @property
    def running(self) -> bool:
        """True while started and not stopping (``/readyz``)."""

    def backlog(self) -> int:
        """Jobs waiting inside this process (``/readyz``)."""
