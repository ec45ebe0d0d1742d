"""Scheduler tasks that start later, and intelligence passes that never hold up the scheduler."""

from __future__ import annotations

import threading
import time

from hub.intel.service import Intelligence
from hub.scheduler import Scheduler


def test_a_task_can_start_later_than_the_first_tick() -> None:
    ran: list[str] = []
    sched = Scheduler()
    sched.every(60, "now", lambda: ran.append("now"))
    sched.every(60, "later", lambda: ran.append("later"), first_in=600)
    start = time.monotonic()
    sched.tick(start)
    sched.tick(start + 599)
    assert ran == ["now", "now"]  # every 60 s; "later" not yet
    sched.tick(start + 601)
    assert ran == ["now", "now", "later"]


def test_a_background_pass_returns_at_once_and_never_runs_twice_at_the_same_time() -> None:
    gate, started, calls = threading.Event(), threading.Event(), []

    def slow() -> None:
        calls.append(1)
        started.set()
        gate.wait(10)

    task = Intelligence.in_background(object.__new__(Intelligence), "slow", slow)
    t0 = time.monotonic()
    task()
    assert started.wait(5) and time.monotonic() - t0 < 1
    task()  # still running: not started again
    assert calls == [1]
    gate.set()
    for _ in range(100):
        time.sleep(0.02)
        task()
        if len(calls) == 2:
            break
    assert len(calls) == 2
    gate.set()
