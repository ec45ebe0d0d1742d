"""Seeded simulator of partner traffic with labelled injected problems, for the exception
intelligence benchmark (``bench_intelligence.py``).

Customers send orders (850) with weekday and hour-of-day seasonality in their own time zone
(business hours peak, nights and weekends quiet, a busier last weekday of the month, a slow
trend and day-to-day noise); suppliers send ship notices (856) through the day and invoices
(810) in a daily evening batch that sometimes runs an hour late. Partners are big, medium or
small. Errors, dead letters and acknowledgment latency have their own noise, carriers have
short failure blips, ship notices arrive a little early or late with a heavy tail. Partners
resend on ordinary days too: 0.2–2 % of their documents (log-uniform per partner), plus
0.3–2 bursts a week of 1–5 resends on top of an hour's traffic (after a timeout); these
come from a generator of their own, so the rest of the traffic is as it was without them.

Injected problems (``InjectedProblem``), each starting on a weekday in the partner's
business hours so it touches traffic:

- ``outage``: no traffic at all from the partner for 4–24 h (every document type,
  ``document_type == "*"``); half the time the backlog arrives in the 2 hours after;
- ``volume_drop``: one flow falls 60–90 % for 1–4 days;
- ``duplicate_storm``: one flow at 2–4× for 2–8 h, the extra documents all resends of ones
  sent before (``FlowPoint.duplicates``);
- ``error_spike``: 25–90 % of one flow's documents fail for 3–12 h;
- ``ack_delay``: acknowledgments 3–8× slower for 4–24 h;
- ``late_supplier``: a supplier's ship notices drift late, reaching +24–96 h over 7–21 days;
- ``carrier_failing``: a carrier fails 30–80 % of its calls on a lane for 6–48 h
  (``partner`` is the carrier, ``lane`` the lane);
- ``price_drift``: a partner's prices creep up 3–10 % (labelled only: it does not change
  traffic; the price detectors own it).

``SimOrder`` rows are purchase orders to suppliers awaiting their ship notice by ``due_at``;
whether they are late depends on the supplier's reliability, the weekday (Friday worse), the
number of lines, a ``late_supplier`` period and a failing carrier on the order's lane.

Usage:
    sim = simulate(7, weeks=16, partners=12)
    len(sim.points), [p.kind for p in sim.problems][:3]
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.intelligence.anomaly import CarrierAttempt, FlowPoint, LatenessObservation, SendPoint

__all__ = [
    "FLOW_KINDS",
    "KINDS",
    "InjectedProblem",
    "PartnerProfile",
    "SimOrder",
    "Simulation",
    "simulate",
]

ProblemKind = Literal["outage", "volume_drop", "duplicate_storm", "error_spike", "ack_delay",
                      "late_supplier", "carrier_failing", "price_drift"]
KINDS: tuple[ProblemKind, ...] = ("outage", "volume_drop", "duplicate_storm", "error_spike",
                                  "ack_delay", "late_supplier", "carrier_failing", "price_drift")
# the kinds the flow anomaly detectors are meant to find (price drift is not a flow problem)
FLOW_KINDS: tuple[ProblemKind, ...] = KINDS[:-1]
# problems per 16 weeks × 12 partners; scaled to the simulated size
_PROBLEMS_PER_RUN = {"outage": 8, "volume_drop": 6, "duplicate_storm": 6, "error_spike": 6,
                     "ack_delay": 4, "late_supplier": 3, "carrier_failing": 5, "price_drift": 3}

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
_H = timedelta(hours=1)
_CUSTOMERS = ("ACME", "BOLTMART", "CORNERHW", "DELTABUILD", "EASTSIDE", "FARMCO", "GRANITE",
              "HARBORHW", "IRONSIDE", "JUNCTION", "KESTREL", "LAKESIDE")
_SUPPLIERS = ("SUPCO", "NORTHFAB", "PRIMEPKG", "TRIMAX", "VALLEYMFG", "ZENITH")
_LANES = ("CHI-NYC", "CHI-ATL", "DAL-LAX", "NYC-BOS", "ATL-MIA")
_CARRIERS = ("UPSN", "FDEG", "ODFL")
_OFFSETS = (-5, -6, -8, 0, 1)  # partner time zones, hours from UTC
# share of a weekday's documents per local hour: business hours peak, nights near zero
_SHAPE = np.array([.01, .01, .01, .01, .01, .02, .3, .7, 1, 1, 1, 1, .8, .95, .95, .95, .95, .6,
                   .3, .1, .1, .1, .03, .02])
_SHAPE = _SHAPE / _SHAPE.sum()
_WEEKDAY_FACTOR = (1.0, 1.0, 1.0, 1.0, 0.95, 0.08, 0.03)


@dataclass(frozen=True, slots=True)
class PartnerProfile:
    id: str
    role: Literal["customer", "supplier"]
    size: Literal["big", "medium", "small"]
    daily_volume: float  # weekday documents of the main flow (850 or 856)
    utc_offset: int
    error_rate: float
    ack_latency_seconds: float
    reliability: float  # suppliers: baseline logit shift of shipping on time
    lateness_hours: float  # suppliers: usual lateness of a ship notice
    lanes: tuple[str, ...] = ()

    @property
    def document_types(self) -> tuple[str, ...]:
        return ("850",) if self.role == "customer" else ("856", "810")


@dataclass(frozen=True, slots=True)
class InjectedProblem:
    kind: ProblemKind
    partner: str  # the carrier for carrier_failing
    document_type: str  # "*": every document type of the partner
    start: datetime
    end: datetime
    magnitude: float = 0.0
    lane: str | None = None
    affected: float = 0.0  # expected documents (or calls) the problem changes; 0 = none




@dataclass(frozen=True, slots=True)
class SimOrder:
    """A purchase order to ``partner`` (a supplier) whose ship notice is due at ``due_at``;
    ``done_at`` is when it arrived, ``None`` if still open when the simulation ends."""

    partner: str
    document_type: str
    lane: str
    opened_at: datetime
    line_count: int
    order_value: float
    due_at: datetime
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class Simulation:
    seed: int
    start: datetime
    weeks: int
    partners: tuple[PartnerProfile, ...]
    points: tuple[FlowPoint, ...]
    lateness: tuple[LatenessObservation, ...]
    attempts: tuple[CarrierAttempt, ...]
    problems: tuple[InjectedProblem, ...]
    orders: tuple[SimOrder, ...]
    # Crossdock's own sends to each partner, and the outages (of ``problems``) during which the
    # partner's whole EDI system was down, so that every send failed
    sends: tuple[SendPoint, ...] = ()
    systems_down: tuple[InjectedProblem, ...] = ()

    @property
    def end(self) -> datetime:
        return self.start + timedelta(weeks=self.weeks)

    def order_missed(self, order: SimOrder) -> bool | None:
        """Whether ``order`` missed its SLA, as known at the end of the simulation."""
        if order.done_at is not None:
            return order.done_at > order.due_at
        return True if order.due_at < self.end else None


def simulate(seed: int, weeks: int = 16, partners: int = 12) -> Simulation:
    """Hourly traffic of ``partners`` partners (about 2/3 customers) over ``weeks`` weeks from
    Monday 2026-01-05, with injected problems after the first 3 weeks. Same seed, same result.

    Usage:
        >>> sim = simulate(1, weeks=6, partners=6)
        >>> sim == simulate(1, weeks=6, partners=6)
        True
    """
    if weeks < 4 or partners < 2:
        raise ValueError(f"need at least 4 weeks and 2 partners, got {weeks} weeks, {partners} partners")
    rng = np.random.default_rng(seed)
    # resends come from a generator of their own, so that everything else is drawn as it was
    # before the simulator had them
    resends = np.random.default_rng([seed, 1])
    profiles = _partners(rng, partners)
    hours = weeks * 168
    problems = _problems(rng, profiles, weeks)
    affected: dict[int, float] = defaultdict(float)
    points, lateness = _traffic(rng, resends, profiles, problems, hours, affected)
    attempts = _carriers(rng, problems, hours, affected)
    orders = _orders(rng, profiles, problems, hours)
    problems = [replace(p, affected=round(affected[i], 1)) for i, p in enumerate(problems)]
    # the hub's sends come from a generator of their own too: the traffic above is unchanged
    sends, down = _sends(np.random.default_rng([seed, 2]), profiles, problems, points, orders, hours)
    return Simulation(seed, START, weeks, tuple(profiles), tuple(points), tuple(lateness),
                      tuple(attempts), tuple(problems), tuple(orders), tuple(sends), tuple(down))


def _partners(rng: np.random.Generator, count: int) -> list[PartnerProfile]:
    n_suppliers = max(1, round(count / 3))
    out = []
    volumes = {"big": (150, 400), "medium": (30, 100), "small": (6, 20)}
    for i in range(count):
        supplier = i >= count - n_suppliers
        j = i - (count - n_suppliers) if supplier else i
        names = _SUPPLIERS if supplier else _CUSTOMERS
        name = names[j % len(names)] + (str(j // len(names) + 1) if j >= len(names) else "")
        size = ("medium", "small", "big")[j % 3] if supplier else ("big", "medium", "small")[j % 3]
        low, high = volumes[size]
        daily = float(math.exp(rng.uniform(math.log(low), math.log(high))))
        lanes = tuple(rng.choice(_LANES, size=int(rng.integers(1, 3)), replace=False)) if supplier else ()
        out.append(PartnerProfile(
            name, "supplier" if supplier else "customer", size, daily,
            int(rng.choice(_OFFSETS)), float(rng.uniform(0.003, 0.03)),
            float(math.exp(rng.uniform(math.log(120), math.log(1800)))),
            float(rng.normal(0, 0.7)), float(rng.uniform(-6, 4)), tuple(str(x) for x in lanes)))
    return out


def _business_start(rng: np.random.Generator, first: int, last: int, offset: int) -> int:
    """An hour index in ``[first, last)`` on a local weekday between 06:00 and 14:00."""
    for _ in range(1000):
        day = int(rng.integers(first // 24, max(first // 24 + 1, last // 24)))
        local = day * 24 + int(rng.integers(6, 15))
        if (local // 24) % 7 < 5:
            t = local - offset
            if first <= t < last:
                return t
    return first


def _problems(rng: np.random.Generator, profiles: list[PartnerProfile], weeks: int) -> list[InjectedProblem]:
    hours = weeks * 168
    first = 3 * 168 + 24  # after three weeks of history and a day
    scale = weeks * len(profiles) / (16 * 12)
    busy: dict[str, list[tuple[int, int]]] = {}
    suppliers = [p for p in profiles if p.role == "supplier"]
    out = []

    def free(key: str, a: int, b: int) -> bool:
        return all(b + 48 <= s or a >= e + 48 for s, e in busy.get(key, []))

    for kind, per_run in _PROBLEMS_PER_RUN.items():
        count = max(1, round(per_run * scale))
        for _ in range(count):
            for _attempt in range(50):
                partner = profiles[int(rng.integers(len(profiles)))]
                doc = str(rng.choice(partner.document_types))
                lane = None
                if kind == "outage":
                    length, doc, magnitude = int(rng.integers(4, 25)), "*", 0.0
                elif kind == "volume_drop":
                    length, magnitude = int(rng.integers(24, 97)), float(rng.uniform(0.6, 0.9))
                elif kind == "duplicate_storm":
                    length, magnitude = int(rng.integers(2, 9)), float(rng.uniform(2, 4))
                elif kind == "error_spike":
                    length, magnitude = int(rng.integers(3, 13)), float(rng.uniform(0.25, 0.9))
                elif kind == "ack_delay":
                    length, magnitude = int(rng.integers(4, 25)), float(rng.uniform(3, 8))
                elif kind == "late_supplier":
                    if not suppliers:
                        break
                    partner = suppliers[int(rng.integers(len(suppliers)))]
                    length, doc, magnitude = int(rng.integers(7, 22)) * 24, "856", float(rng.uniform(24, 96))
                elif kind == "carrier_failing":
                    lane = str(rng.choice(_LANES))
                    length, doc, magnitude = int(rng.integers(6, 49)), "", float(rng.uniform(0.3, 0.8))
                else:
                    length, doc, magnitude = int(rng.integers(7, 22)) * 24, "*", float(rng.uniform(0.03, 0.1))
                offset = -5 if lane else partner.utc_offset
                start = _business_start(rng, first, hours - length - 12, offset)
                key = f"lane:{lane}" if lane else partner.id
                if start + length + 12 > hours or not free(key, start, start + length):
                    continue
                who = str(rng.choice(_CARRIERS[:2] if lane in _LANES[::2] else _CARRIERS[1:])) if lane else partner.id
                busy.setdefault(key, []).append((start, start + length))
                out.append(InjectedProblem(kind, who, doc, START + start * _H,
                                           START + (start + length) * _H, round(magnitude, 3), lane))
                break
    return sorted(out, key=lambda p: (p.start, p.kind, p.partner))


def _active(problems: list[InjectedProblem], partner: str, doc: str, kind: str,
            hours: int) -> Iterator[tuple[int, int, float, int]]:
    for i, p in enumerate(problems):
        if p.kind == kind and p.partner == partner and p.document_type in (doc, "*"):
            a, b = int((p.start - START) / _H), int((p.end - START) / _H)
            yield max(a, 0), min(b, hours), p.magnitude, i


def _traffic(rng: np.random.Generator, resends: np.random.Generator, profiles: list[PartnerProfile],
             problems: list[InjectedProblem], hours: int,
             affected: dict[int, float]) -> tuple[list[FlowPoint], list[LatenessObservation]]:
    points: list[FlowPoint] = []
    lateness: list[LatenessObservation] = []
    days = hours // 24 + 2
    for prof in profiles:
        # every partner resends now and then: a share of what it sends (its retries), and a
        # few times a week a small burst after a timeout
        share = float(math.exp(resends.uniform(math.log(0.002), math.log(0.02))))
        bursts_per_week = float(resends.uniform(0.3, 2.0))
        day_noise = np.exp(rng.normal(0, 0.12, size=days))
        trend = np.exp(np.cumsum(rng.normal(0, 0.01, size=days // 7 + 2)))
        for doc in prof.document_types:
            rate = np.zeros(hours)
            for t in range(hours):
                local = t + prof.utc_offset + 24 * 7  # keep the index positive
                ld, lh, wd = local // 24, local % 24, (local // 24) % 7
                factor = _WEEKDAY_FACTOR[wd] * day_noise[ld - 7] * trend[(ld - 7) // 7]
                if doc == "810":  # the invoice run: one evening batch on weekdays
                    batch = (0.7 if lh == 18 else 0.3 if lh == 19 else 0.002) if wd < 5 else 0.0
                    rate[t] = 0.9 * prof.daily_volume * batch * factor
                else:
                    busy_day = _last_weekday(START + timedelta(days=int(ld - 7)))
                    rate[t] = prof.daily_volume * _SHAPE[lh] * factor * (1.3 if busy_day else 1.0)
            if doc == "810":  # some evenings the batch runs an hour late
                for d in range(days):
                    if rng.random() < 0.1:
                        h = d * 24 + 18 - prof.utc_offset
                        if h >= 0 and h + 2 < hours:
                            rate[h + 1:h + 3], rate[h:h + 1] = rate[h:h + 2].copy(), 0.0
            base_rate = rate.copy()
            error = np.full(hours, prof.error_rate)
            dead_share = np.full(hours, 0.2)
            latency = np.full(hours, prof.ack_latency_seconds)
            extra = np.zeros(hours)
            storm = np.zeros(hours)  # the part of ``extra`` that is resends
            for a, b, _m, i in _active(problems, prof.id, doc, "outage", hours):
                rate[a:b] = 0.0
                affected[i] += base_rate[a:b].sum()
                if rng.random() < 0.5:  # the partner resends its backlog once it is back
                    extra[b:b + 2] += base_rate[a:b].sum() / 2
            for a, b, m, i in _active(problems, prof.id, doc, "volume_drop", hours):
                rate[a:b] *= 1 - m
                affected[i] += base_rate[a:b].sum() * m
            for a, b, m, i in _active(problems, prof.id, doc, "duplicate_storm", hours):
                # the partner resends what it sent before, at (m - 1) times its usual
                # business-hour pace on top of the live traffic
                extra[a:b] += (m - 1) * prof.daily_volume / 12
                storm[a:b] += (m - 1) * prof.daily_volume / 12
                affected[i] += (b - a) * (m - 1) * prof.daily_volume / 12
            for a, b, m, i in _active(problems, prof.id, doc, "error_spike", hours):
                error[a:b], dead_share[a:b] = m, 0.5
                affected[i] += rate[a:b].sum() * (m - prof.error_rate)
            for a, b, m, i in _active(problems, prof.id, doc, "ack_delay", hours):
                latency[a:b] *= m
                affected[i] += rate[a:b].sum()
            received = rng.poisson(rate + extra)
            burst = rng.random(hours) < 0.003  # a few bad documents now and then
            errors = rng.binomial(received, error) + np.where(burst, rng.integers(1, 4, hours), 0)
            errors = np.minimum(errors, received)
            dead = rng.binomial(errors, dead_share)
            night = np.array([not (7 <= (t + prof.utc_offset) % 24 < 19) for t in range(hours)])
            lat = latency * np.where(night, 2.0, 1.0) * np.exp(rng.normal(0, 0.3, hours))
            # the hub counts a resend apart from the new documents (``FlowPoint.received``)
            resent, bursts = _resends(resends, received, rate + extra, storm, share, bursts_per_week)
            for t in np.flatnonzero(received):
                at = START + int(t) * _H
                points.append(FlowPoint(prof.id, doc, at, int(received[t] - resent[t]), int(errors[t]),
                                        int(dead[t]), round(float(lat[t]), 1), int(resent[t] + bursts[t])))
            if doc == "856":
                lateness += _lateness(rng, prof, problems, received, hours, affected)
    return points, lateness


def _resends(resends: np.random.Generator, received: np.ndarray, expected: np.ndarray, storm: np.ndarray,
             share: float, bursts_per_week: float) -> tuple[np.ndarray, np.ndarray]:
    """How many of each hour's documents are resends, and the resend bursts on top of them:
    a storm's documents (each of an hour's documents is one with the storm's share of the
    hour's expected count), a ``share`` of the rest, and bursts of 1-5 in hours with
    traffic, ``bursts_per_week`` on average."""
    from_storm = resends.binomial(received, np.divide(storm, expected, out=np.zeros_like(storm),
                                                      where=expected > 0))
    background = resends.binomial(received - from_storm, share)
    active = received > 0
    per_hour = bursts_per_week * len(received) / 168 / max(int(active.sum()), 1)
    bursts = np.where(active & (resends.random(len(received)) < per_hour),
                      resends.integers(1, 6, len(received)), 0)
    return from_storm + background, bursts


def _last_weekday(day: datetime) -> bool:
    """The last Monday–Friday of its month."""
    if day.weekday() > 4:
        return False
    following = day + timedelta(days=1 if day.weekday() < 4 else 3)
    return following.month != day.month


def _lateness(rng: np.random.Generator, prof: PartnerProfile, problems: list[InjectedProblem],
              received: np.ndarray, hours: int, affected: dict[int, float]) -> list[LatenessObservation]:
    shift = np.zeros(hours)
    for a, b, m, i in _active(problems, prof.id, "856", "late_supplier", hours):
        ramp = max((b - a) // 2, 1)  # drifts to its worst over the first half, then stays
        shift[a:b] = m * np.minimum(np.arange(b - a) / ramp, 1.0)
        affected[i] += float(received[a:b].sum())
    out = []
    for t in np.flatnonzero(received):
        for _ in range(int(received[t])):
            late = rng.normal(prof.lateness_hours, 6.0) + shift[t]
            if rng.random() < 0.03:  # the odd shipment that sat on a dock
                late += rng.uniform(24, 72)
            out.append(LatenessObservation(prof.id, START + int(t) * _H, round(float(late), 1)))
    return out


def _carriers(rng: np.random.Generator, problems: list[InjectedProblem], hours: int,
              affected: dict[int, float]) -> list[CarrierAttempt]:
    out = []
    for i, lane in enumerate(_LANES):
        for carrier in (_CARRIERS[:2] if i % 2 == 0 else _CARRIERS[1:]):
            fail = np.full(hours, float(rng.uniform(0.005, 0.03)))
            blips = np.flatnonzero(rng.random(hours) < 0.002)  # an hour of trouble, then fine
            fail[blips] = rng.uniform(0.3, 0.6, len(blips))
            usual = float(fail[0])
            failing = [(i, int((p.start - START) / _H), int((p.end - START) / _H), p.magnitude)
                       for i, p in enumerate(problems)
                       if p.kind == "carrier_failing" and p.lane == lane and p.partner == carrier]
            for _i, a, b, m in failing:
                fail[a:b] = m
            peak = float(rng.uniform(2, 8))
            for t in range(hours):
                local = t - 5 + 24 * 7
                rate = peak * (1.0 if 7 <= local % 24 < 19 else 0.1) * (1.0 if (local // 24) % 7 < 5 else 0.2)
                for i, a, b, m in failing:
                    if a <= t < b:
                        affected[i] += rate * (m - usual)
                for _ in range(int(rng.poisson(rate))):
                    at = START + t * _H + timedelta(minutes=int(rng.integers(60)))
                    out.append(CarrierAttempt(lane, carrier, at, bool(rng.random() >= fail[t])))
    return out


def _orders(rng: np.random.Generator, profiles: list[PartnerProfile], problems: list[InjectedProblem],
            hours: int) -> list[SimOrder]:
    end = START + hours * _H
    out = []
    for prof in profiles:
        if prof.role != "supplier":
            continue
        per_day = max(2.0, prof.daily_volume / 3)
        for d in range(hours // 24):
            day = START + timedelta(days=d)
            if day.weekday() > 4:
                continue
            for _ in range(int(rng.poisson(per_day))):
                opened = day + timedelta(hours=float(rng.uniform(13, 23)))
                lane = str(rng.choice(prof.lanes))
                lines = 1 + int(rng.geometric(1 / 8))
                value = round(float(lines * rng.lognormal(math.log(180), 0.6)), 2)
                lead = 72.0 if lines > 15 else 48.0
                due = opened + timedelta(hours=lead)
                late_period = any(p.kind == "late_supplier" and p.partner == prof.id
                                  and p.start <= opened < p.end for p in problems)
                failing = any(p.kind == "carrier_failing" and p.lane == lane
                              and p.start < due and opened < p.end for p in problems)
                logit = (-2.2 - prof.reliability + 0.9 * (opened.weekday() == 4) + 0.04 * lines
                         + 2.5 * late_period + 1.5 * failing)
                if rng.random() < 1 / (1 + math.exp(-logit)):
                    done = due + timedelta(hours=float(rng.exponential(24)) + 0.5)
                else:
                    done = opened + timedelta(hours=float(rng.uniform(0.3, 1.0)) * lead)
                out.append(SimOrder(prof.id, "850", lane, opened, lines, value, due,
                                    done if done <= end else None))
    return sorted(out, key=lambda o: o.opened_at)


# the distributor's warehouse ships (and its ERP sends ship notices and invoices) on weekdays
# 13:00-22:00 UTC (08:00-17:00 at UTC-5)
_WAREHOUSE_HOURS = range(13, 23)


def _sends(rng: np.random.Generator, profiles: list[PartnerProfile], problems: list[InjectedProblem],
           points: list[FlowPoint], orders: list[SimOrder], hours: int) -> tuple[list[SendPoint], list[InjectedProblem]]:
    """Crossdock's sends to each partner per hour, and how many failed (after the hub's retries).

    To a customer: a 997 for each hour that brought orders, an 855 for each new order within 0-2
    hours, and for each order an 856 when the warehouse ships it (6-54 h later, in warehouse
    hours) with its 810 then or an hour later. To a supplier: a 997 for each hour that brought
    ship notices and for each that brought invoices, and the purchase orders (``SimOrder``) as
    850s when they open. A partner's sends fail at its own small rate (log-uniform 0.1-1 %), a
    few times in 16 weeks for an hour or two at 50-100 % (its AS2 server restarting), and, for
    about half of the outages (drawn here), every send fails: the partner's whole EDI system is
    down, not just its sending. Returns the sends and those outages."""
    inbound: dict[tuple[str, str], np.ndarray] = {}
    for p in points:
        counts = inbound.setdefault((p.partner, p.document_type), np.zeros(hours, dtype=np.int64))
        counts[int((p.hour - START) / _H)] += p.received
    index = np.arange(hours)
    shipping = np.array([(START + t * _H).weekday() < 5 and (START + t * _H).hour in _WAREHOUSE_HOURS
                         for t in range(hours)])
    # the next warehouse hour at or after each hour (hours: none left)
    next_ship = np.full(hours + 1, hours)
    for t in range(hours - 1, -1, -1):
        next_ship[t] = t if shipping[t] else next_ship[t + 1]
    down = [p for p in problems if p.kind == "outage" and rng.random() < 0.5]
    out: list[SendPoint] = []
    for prof in profiles:
        sent = np.zeros(hours, dtype=np.int64)
        if prof.role == "customer":
            orders_in = inbound.get((prof.id, "850"), np.zeros(hours, dtype=np.int64))
            sent += orders_in > 0  # a 997 per receipt hour
            at = np.repeat(index, orders_in)
            sent += np.bincount(np.minimum(at + rng.choice(3, len(at), p=[0.6, 0.3, 0.1]), hours),
                                minlength=hours + 1)[:hours]
            ship = next_ship[np.minimum(at + rng.integers(6, 55, len(at)), hours)]
            sent += np.bincount(ship, minlength=hours + 1)[:hours]  # 856s
            sent += np.bincount(np.minimum(ship + rng.integers(0, 2, len(ship)), hours),
                                minlength=hours + 1)[:hours]  # 810s
        else:
            for doc in prof.document_types:
                sent += inbound.get((prof.id, doc), np.zeros(hours, dtype=np.int64)) > 0
            opened = [int((o.opened_at - START) / _H) for o in orders if o.partner == prof.id]
            sent += np.bincount(np.minimum(np.array(opened, dtype=np.int64), hours), minlength=hours + 1)[:hours]
        fail = np.full(hours, float(math.exp(rng.uniform(math.log(0.001), math.log(0.01)))))
        for _ in range(int(rng.poisson(0.25 * hours / 168))):  # a blip: an hour or two
            t = int(rng.integers(hours))
            fail[t:t + int(rng.integers(1, 3))] = rng.uniform(0.5, 1.0)
        for p in down:
            if p.partner == prof.id:
                fail[int((p.start - START) / _H):int((p.end - START) / _H)] = 1.0
        failed = rng.binomial(sent, fail)
        out += [SendPoint(prof.id, START + int(t) * _H, int(sent[t]), int(failed[t])) for t in np.flatnonzero(sent)]
    return out, down
