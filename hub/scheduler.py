"""Periodic tasks: retries that are due, SLA timers, reconciliation, polling connectors.

One ``Scheduler`` holds the tasks; the embedded runtime ticks it in a thread, the
distributed ``crossdock scheduler`` ticks it while it holds the leader lease.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

__all__ = ["Scheduler"]

log = structlog.get_logger("crossdock.scheduler")


@dataclass(slots=True)
class _Task:
    name: str
    every: float
    fn: Callable[[], object]
    next_run: float = 0.0


class Scheduler:
    """Usage: ``sched.every(5, "sweep", fn)``, then ``sched.tick()`` in a loop."""

    def __init__(self) -> None:
        self.tasks: list[_Task] = []

    def every(self, seconds: float, name: str, fn: Callable[[], object], *, first_in: float = 0.0) -> None:
        """Run ``fn`` every ``seconds``; the first time at the first tick, or ``first_in`` seconds
        after this call."""
        self.tasks.append(_Task(name, seconds, fn, time.monotonic() + first_in if first_in else 0.0))

    def tick(self, now: float | None = None) -> list[str]:
        now = time.monotonic() if now is None else now
        ran = []
        for task in self.tasks:
            if now < task.next_run:
                continue
            task.next_run = now + task.every
            try:
                task.fn()
                ran.append(task.name)
            except Exception:  # a failing task must not stop the others; it runs again next time
                log.exception("scheduler.task_failed", task=task.name)
        return ran
