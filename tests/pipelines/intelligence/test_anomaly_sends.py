"""The failing-sends check on golden scenarios: a partner refusing everything the hub sends it
for hours fires, with a message naming the count against the usual rate; the background rate, a
blip of an hour or two, a partner that is back and a partner too new to know do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pipelines.intelligence.anomaly import SendHistory, SendPoint, detect_failing_sends

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
H = timedelta(hours=1)


def sends(peak: float, *, days: int = 15, until: datetime = MONDAY + 17 * H, fail: float = 0.003,
          down: tuple[datetime, datetime] | None = None, seed: int = 1, partner: str = "ACME",
          poisson: bool = True) -> list[SendPoint]:
    """``peak`` sends an hour 08:00–17:00 on weekdays (Poisson, or exactly ``peak``), each failing
    at ``fail``; every send in ``down`` fails."""
    rng = np.random.default_rng(seed)
    out, at = [], until - timedelta(days=days)
    while at < until:
        rate = peak if at.weekday() < 5 and 8 <= at.hour < 17 else 0.0
        n = int(rng.poisson(rate)) if poisson else int(rate)
        if n:
            p = 1.0 if down and down[0] <= at < down[1] else fail
            out.append(SendPoint(partner, at, n, int(rng.binomial(n, p))))
        at += H
    return out


def hourly(points: list[SendPoint], *, first: datetime, last: datetime) -> list[list[str]]:
    """The messages of each hourly pass from ``first`` to ``last``."""
    history = SendHistory(points)
    out, now = [], first
    while now <= last:
        out.append([d.message for d in detect_failing_sends(history, now=now)])
        now += H
    return out


def test_a_partner_refusing_every_send_since_the_morning_is_down() -> None:
    points = sends(6.0, until=MONDAY + 13 * H, fail=0.01, down=(MONDAY + 9 * H, MONDAY + 13 * H))
    [found] = detect_failing_sends(points, now=MONDAY + 13 * H)
    failed = sum(p.failed for p in points if p.hour >= MONDAY + 9 * H)
    assert found.code == "flow_anomaly" and found.partner == "ACME" and found.document == "sends to ACME"
    assert found.message.startswith(f"sends to ACME: ACME refused {failed} of {failed} of our sends since 09:00 "
                                    "(normally 1 in ")
    assert found.message.endswith("fails): its system looks down")
    evidence = found.evidence
    assert evidence["alert_key"] == "ACME|sends|send_failure_rate|failing|2026-03-02"
    assert (evidence["metric"], evidence["direction"], evidence["window_hours"]) == ("send_failure_rate", "failing", 4)
    assert evidence["p_value"] <= 1e-8 and evidence["failing_hours"] == 4


def test_a_small_partner_down_is_found_from_a_few_sends_in_three_hours() -> None:
    # two sends an hour: the partner's own few documents could not show an outage this short
    points = sends(2.0, until=MONDAY + 12 * H, down=(MONDAY + 9 * H, MONDAY + 12 * H), poisson=False)
    [found] = detect_failing_sends(points, now=MONDAY + 12 * H)
    assert "ACME refused 6 of 6 of our sends since 09:00" in found.message
    assert "none of its" in found.message or "normally 1 in" in found.message
    # two hours in, not yet: it could be a blip
    assert detect_failing_sends(points, now=MONDAY + 11 * H) == []


def test_the_background_failure_rate_fires_nothing() -> None:
    points = sends(20.0, days=28, until=MONDAY + 24 * H, fail=0.01, seed=3)
    assert all(found == [] for found in hourly(points, first=MONDAY - timedelta(days=13), last=MONDAY + 24 * H))


@pytest.mark.parametrize("hours", [1, 2])
def test_a_blip_of_an_hour_or_two_is_no_outage(hours: int) -> None:
    blip = (MONDAY + 10 * H, MONDAY + (10 + hours) * H)
    points = sends(20.0, until=MONDAY + 24 * H, fail=0.005, down=blip, seed=5)
    assert sum(p.failed for p in points if p.hour >= blip[0]) >= 15 * hours
    assert all(found == [] for found in hourly(points, first=MONDAY + 10 * H, last=MONDAY + 24 * H))


def test_a_partner_taking_sends_again_is_no_longer_reported() -> None:
    points = sends(6.0, until=MONDAY + 17 * H, down=(MONDAY + 9 * H, MONDAY + 13 * H))
    passes = hourly(points, first=MONDAY + 12 * H, last=MONDAY + 17 * H)
    assert passes[0] and passes[1]  # 12:00 and 13:00: three and four hours refused
    assert passes[3:] == [[], [], []]  # taken again from 13:00: back


def test_too_little_history_is_not_judged() -> None:
    points = sends(6.0, days=2, until=MONDAY + 13 * H, down=(MONDAY + 9 * H, MONDAY + 13 * H))
    assert detect_failing_sends(points, now=MONDAY + 13 * H) == []
