"""Linear models the hub trains on its own history, stored as JSON.

A ``LinearModel`` is a logistic regression over named, standardised features, with a
calibration map (``cal_x``/``cal_y``; the identity for models trained now: see
``fit_logistic``), and what its model card shows: the training window, metrics measured on the latest slice
(which it never saw), and the feature statistics that drift is measured against. It is
data, never code: ``to_json``/``from_json`` only, so a model read back from the database
cannot execute anything, and ``from_json`` refuses any incomplete or inconsistent artifact.

Feature names follow one convention: ``group=value`` is an indicator (one-hot), and every
group has a ``group=other`` bucket that takes the values too rare at training time (or new
since); any other name is a number, and a caller must give it.

Training imports scikit-learn (inside ``fit_logistic`` only); predicting needs numpy only, imported on
first use.

Exceptions::

    ModelError       the artifact is missing or corrupt, or cannot score the features given
    NotEnoughData    (ValueError) refusing to train: too few examples, or one outcome only

Usage:
    model = fit_logistic(rows, labels, name="sla_risk", version=3, times=opened, now=now)
    stored = json.dumps(model.to_json())
    model = LinearModel.from_json(stored)
    model.probability({"partner=ACME": 1.0, "sla_hours": 24.0}), model.version
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
else:
    class _Numpy:
        """numpy on first use: every hub process imports this module, few of them score a model."""

        def __getattr__(self, name: str) -> Any:
            import numpy

            globals()["np"] = numpy
            return getattr(numpy, name)

    np = _Numpy()

__all__ = [
    "FORMAT",
    "MIN_EXAMPLES",
    "MODEL_NAMES",
    "LinearModel",
    "ModelError",
    "NotEnoughData",
    "fit_logistic",
]

FORMAT = 1
MODEL_NAMES = ("sla_risk", "priority")
MIN_EXAMPLES = 60  # below this the three time slices are too small to fit, calibrate and test
OTHER = "other"
_SPLIT = (0.6, 0.2)  # training, calibration; the latest 20% is the test slice
_C_GRID = (0.1, 1.0, 10.0)
_Z_CLIP = 500.0  # exp() of more overflows; the sigmoid is 0 or 1 there anyway
_METRICS = ("n_train", "n_calibration", "n_test", "base_rate", "brier", "brier_of_base_rate",
            "auc", "auc_lower", "log_loss", "reliability")
_KEYS = ("format", "name", "version", "trained_at", "window", "feature_names", "means", "scales",
         "coef", "intercept", "cal_x", "cal_y", "metrics", "feature_stats", "score_edges",
         "score_shares", "params")


class ModelError(Exception):
    """A model artifact is missing or corrupt, or cannot score the features it was given."""


class NotEnoughData(ValueError):
    """Refusing to train: the history is too small or shows only one outcome."""


@dataclass(frozen=True, slots=True)
class LinearModel:
    """A calibrated logistic model; every field is checked on construction (``ModelError``).

    ``means``/``scales`` standardise each feature; ``coef``/``intercept`` act on the
    standardised values; ``cal_x``/``cal_y`` map the raw probability to the calibrated one
    (linear interpolation, clipped at the ends); ``score_edges``/``score_shares`` are the
    training distribution of the linear score in deciles, for the population stability index;
    ``params`` are numbers the feature builder needs (e.g. a prior for a missing rate).
    """

    name: str
    version: int
    trained_at: datetime
    window: tuple[datetime, datetime]
    feature_names: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    cal_x: tuple[float, ...]
    cal_y: tuple[float, ...]
    metrics: Mapping[str, Any]
    feature_stats: Mapping[str, Mapping[str, float]]
    score_edges: tuple[float, ...] = ()
    score_shares: tuple[float, ...] = (1.0,)
    params: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check(self)

    @property
    def label(self) -> str:
        """``"sla_risk v3"``: how messages name the model."""
        return f"{self.name} v{self.version}"

    def probability(self, features: Mapping[str, float]) -> float:
        """The calibrated probability of the positive outcome for one example.

        Usage:
            model.probability(features(example, prior=model.params["late_rate_prior"]))
        """
        return self.calibrate(_sigmoid(self.score(features)))

    def score(self, features: Mapping[str, float]) -> float:
        """The linear score (log-odds before calibration)."""
        x = self._vector(features)
        return self.intercept + math.fsum(c * (v - m) / s for c, v, m, s
                                          in zip(self.coef, x, self.means, self.scales, strict=True))

    def calibrate(self, raw: float) -> float:
        return float(np.interp(raw, self.cal_x, self.cal_y))

    def contributions(self, features: Mapping[str, float]) -> list[tuple[str, float]]:
        """Each feature's pull on the log-odds (coefficient × standardised value), largest
        first. The indicators of one group are summed and named by the value present
        (``partner=ACME``), so a factor reads as a fact about this example."""
        x = self._vector(features)
        pulls: dict[str, float] = {}  # by feature name, or by group for indicators
        labels: dict[str, str] = {}
        present: dict[str, float] = {}
        for name, c, v, m, s in zip(self.feature_names, self.coef, x, self.means, self.scales, strict=True):
            key = _group(name) or name
            pulls[key] = pulls.get(key, 0.0) + c * (v - m) / s
            labels.setdefault(key, name if key == name else f"{key}=(none)")
            if key != name and v > present.get(key, 0.0):
                present[key], labels[key] = v, name
        return sorted(((labels[k], round(v, 4)) for k, v in pulls.items()), key=lambda kv: (-abs(kv[1]), kv[0]))

    def confidence(self, probability: float) -> float:
        """How much to trust this model's answer for one example, in [0, 1]:
        ``skill × decisiveness``.

        skill = 2 × AUC_lower − 1 (floored at 0), where AUC_lower is a one-sided 95% lower
        bound of the AUC on the held-out test slice (Hanley–McNeil standard error): a model no
        better than chance has no confidence, and a small test slice widens the bound.
        decisiveness = how far ``probability`` is from the training base rate, as a share of
        the way to 0 or 1: an answer at the base rate says nothing the base rate did not.
        """
        lower = self.metrics.get("auc_lower")
        skill = max(0.0, 2.0 * float(lower) - 1.0) if lower is not None else 0.0
        base = float(self.metrics["base_rate"])
        decisive = (probability - base) / (1.0 - base) if probability >= base else (base - probability) / base
        return round(min(1.0, max(0.0, skill * decisive)), 4)

    def drift(self, recent: Sequence[Mapping[str, float]], *, psi_threshold: float = 0.25,
              shift_threshold: float = 0.5) -> dict[str, Any]:
        """Compare recent examples with the training population.

        Per feature: the shift of the recent mean in training standard deviations. On the
        score: the population stability index over the training deciles (< 0.1 stable,
        0.1–0.25 moving, > 0.25 shifted). ``drifted`` when the PSI reaches ``psi_threshold``
        or any feature shifts by ``shift_threshold`` or more.
        """
        out: dict[str, Any] = {"model": self.label, "n": len(recent), "psi": None,
                               "psi_threshold": psi_threshold, "shift_threshold": shift_threshold,
                               "features": {}, "shifted": [], "drifted": False}
        if not recent:
            return out
        rows = np.array([self._vector(r) for r in recent], dtype=float)
        shifts = {}
        for j, name in enumerate(self.feature_names):
            stat = self.feature_stats[name]
            shift = (float(rows[:, j].mean()) - stat["mean"]) / max(stat["std"], 1e-6)
            shifts[name] = round(max(-99.0, min(99.0, shift)), 4)
        z = self.intercept + ((rows - np.array(self.means)) / np.array(self.scales)) @ np.array(self.coef)
        psi = _psi(np.array(self.score_shares), _shares(z, self.score_edges))
        shifted = sorted((n for n, s in shifts.items() if abs(s) >= shift_threshold), key=lambda n: -abs(shifts[n]))
        out.update(psi=round(psi, 4), features=shifts, shifted=shifted,
                   drifted=psi >= psi_threshold or bool(shifted))
        return out

    def card(self, recent: Sequence[Mapping[str, float]] | None = None) -> dict[str, Any]:
        """The model card: identity, training window, held-out metrics, the strongest
        weights, and — given recent examples' features — drift against the training population."""
        weights = sorted(zip(self.feature_names, self.coef, strict=True), key=lambda w: -abs(w[1]))
        return {"name": self.name, "version": self.version, "trained_at": self.trained_at.isoformat(),
                "window": {"start": self.window[0].isoformat(), "end": self.window[1].isoformat()},
                "features": list(self.feature_names), "metrics": _plain(self.metrics),
                "top_weights": [[n, round(c, 4)] for n, c in weights[:10]], "params": dict(self.params),
                "drift": None if recent is None else self.drift(recent)}

    def to_json(self) -> dict[str, Any]:
        """The artifact as plain JSON types; ``from_json`` reads it back."""
        return {"format": FORMAT, "name": self.name, "version": self.version,
                "trained_at": self.trained_at.isoformat(),
                "window": [self.window[0].isoformat(), self.window[1].isoformat()],
                "feature_names": list(self.feature_names), "means": list(self.means),
                "scales": list(self.scales), "coef": list(self.coef), "intercept": self.intercept,
                "cal_x": list(self.cal_x), "cal_y": list(self.cal_y), "metrics": _plain(self.metrics),
                "feature_stats": _plain(self.feature_stats), "score_edges": list(self.score_edges),
                "score_shares": list(self.score_shares), "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | bytes | None) -> LinearModel:
        """A model from ``to_json`` output (a mapping or JSON text); ``ModelError`` names
        what is missing or wrong.

        Usage:
            model = LinearModel.from_json(row.artifact)  # ModelError: "model artifact is missing coef"
        """
        if data is None:
            raise ModelError("no model artifact stored")
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise ModelError(f"model artifact is not JSON: {exc}") from None
        if not isinstance(data, Mapping):
            raise ModelError(f"model artifact must be a JSON object, not {type(data).__name__}")
        missing = [k for k in _KEYS if k not in data]
        if missing:
            shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
            raise ModelError(f"model artifact is missing {shown}")
        if data["format"] != FORMAT:
            raise ModelError(f"model artifact format {data['format']!r} is not {FORMAT}")
        try:
            window = data["window"]
            if not isinstance(window, list | tuple) or len(window) != 2:
                raise ValueError("window must be [start, end]")
            return cls(
                name=data["name"], version=data["version"],
                trained_at=datetime.fromisoformat(data["trained_at"]),
                window=(datetime.fromisoformat(window[0]), datetime.fromisoformat(window[1])),
                feature_names=tuple(data["feature_names"]), means=_floats(data["means"]),
                scales=_floats(data["scales"]), coef=_floats(data["coef"]),
                intercept=float(data["intercept"]), cal_x=_floats(data["cal_x"]),
                cal_y=_floats(data["cal_y"]), metrics=dict(data["metrics"]),
                feature_stats={str(k): {"mean": float(v["mean"]), "std": float(v["std"])}
                               for k, v in dict(data["feature_stats"]).items()},
                score_edges=_floats(data["score_edges"]), score_shares=_floats(data["score_shares"]),
                params={str(k): float(v) for k, v in dict(data["params"]).items()})
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ModelError(f"model artifact is corrupt: {type(exc).__name__}: {exc}") from None

    def _vector(self, features: Mapping[str, float]) -> list[float]:
        """Features as a vector in ``feature_names`` order (see the module docstring)."""
        return _vectorize(self.feature_names, {n: i for i, n in enumerate(self.feature_names)},
                          features, who=self.label)


def _vectorize(names: Sequence[str], index: Mapping[str, int], features: Mapping[str, float],
               *, who: str) -> list[float]:
    x = [0.0] * len(names)
    missing = [n for n in names if _group(n) is None and n not in features]
    if missing:
        raise ModelError(f"{who}: features missing: {', '.join(missing)}")
    for key, raw in features.items():
        value = float(raw)
        if not math.isfinite(value):
            raise ModelError(f"{who}: feature {key!r} is {raw!r}")
        group = _group(key)
        if key in index:
            x[index[key]] += value
        elif group is not None and f"{group}={OTHER}" in index:
            x[index[f"{group}={OTHER}"]] += value
        # a number the model was not trained with is ignored: a newer feature builder may add some
    return x


def _group(name: str) -> str | None:
    return name.split("=", 1)[0] if "=" in name else None


def _sigmoid(z: float) -> float:
    z = max(-_Z_CLIP, min(_Z_CLIP, z))
    return 1.0 / (1.0 + math.exp(-z))


def _floats(values: Any) -> tuple[float, ...]:
    if not isinstance(values, list | tuple):
        raise ValueError(f"expected a list of numbers, got {type(values).__name__}")
    return tuple(float(v) for v in values)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _finite(values: Sequence[float]) -> bool:
    return all(isinstance(v, float | int) and math.isfinite(v) for v in values)


def _check(m: LinearModel) -> None:
    if m.name not in MODEL_NAMES:
        raise ModelError(f"unknown model name {m.name!r} (known: {', '.join(MODEL_NAMES)})")
    who = f"{m.name} model"
    if not isinstance(m.version, int) or isinstance(m.version, bool) or m.version < 1:
        raise ModelError(f"{who}: version must be a positive integer, not {m.version!r}")
    who = m.label
    times = (m.trained_at, *m.window)
    if not all(isinstance(t, datetime) for t in times) or len(m.window) != 2:
        raise ModelError(f"{who}: trained_at and window must be datetimes")
    if m.window[0] > m.window[1]:
        raise ModelError(f"{who}: window starts {m.window[0].isoformat()} after it ends {m.window[1].isoformat()}")
    n = len(m.feature_names)
    if n == 0 or not all(isinstance(f, str) and f for f in m.feature_names) or len(set(m.feature_names)) != n:
        raise ModelError(f"{who}: feature_names must be distinct non-empty strings")
    for label, values in (("means", m.means), ("scales", m.scales), ("coef", m.coef)):
        if len(values) != n:
            raise ModelError(f"{who}: {label} has {len(values)} values for {n} features")
        if not _finite(values):
            raise ModelError(f"{who}: {label} has a value that is not a finite number")
    if any(s <= 0 for s in m.scales):
        raise ModelError(f"{who}: scales must be positive")
    if not _finite((m.intercept,)):
        raise ModelError(f"{who}: intercept {m.intercept!r} is not a finite number")
    if not m.cal_x or len(m.cal_x) != len(m.cal_y):
        raise ModelError(f"{who}: calibration map has {len(m.cal_x)} x and {len(m.cal_y)} y values")
    if not _finite(m.cal_x) or not _finite(m.cal_y) or any(not 0 <= y <= 1 for y in m.cal_y):
        raise ModelError(f"{who}: calibration map must be finite with probabilities in [0, 1]")
    if any(b < a for a, b in zip(m.cal_x, m.cal_x[1:], strict=False)):
        raise ModelError(f"{who}: calibration x values must not decrease")
    if (len(m.score_shares) != len(m.score_edges) + 1 or not _finite(m.score_edges)
            or not _finite(m.score_shares) or any(s < 0 for s in m.score_shares)):
        raise ModelError(f"{who}: score reference needs finite edges and one more non-negative share")
    missing = [k for k in _METRICS if k not in m.metrics]
    if missing:
        raise ModelError(f"{who}: metrics missing {', '.join(missing)}")
    base = m.metrics["base_rate"]
    if not isinstance(base, float | int) or not 0 < base < 1:
        raise ModelError(f"{who}: base_rate {base!r} must lie strictly between 0 and 1")
    for k in ("auc", "auc_lower"):
        v = m.metrics[k]
        if v is not None and (not isinstance(v, float | int) or not 0 <= v <= 1):
            raise ModelError(f"{who}: {k} {v!r} must be empty or in [0, 1]")
    if set(m.feature_stats) != set(m.feature_names) or not all(
            _finite((s.get("mean", math.nan), s.get("std", math.nan))) for s in m.feature_stats.values()):
        raise ModelError(f"{who}: feature_stats must give a finite mean and std for every feature")
    if not _finite(tuple(m.params.values())):
        raise ModelError(f"{who}: params must be finite numbers")


def _shares(z: Any, edges: Any) -> Any:
    bins = np.searchsorted(np.array(edges, dtype=float), z, side="right")
    return np.bincount(bins, minlength=len(edges) + 1) / max(len(z), 1)


def _psi(expected: Any, actual: Any) -> float:
    e, a = np.maximum(expected, 1e-4), np.maximum(actual, 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))


def _vocabulary(rows: Sequence[Mapping[str, float]], min_count: int) -> tuple[str, ...]:
    """Numbers first, then each group's values seen at least ``min_count`` times, then its
    ``other`` bucket."""
    numbers: set[str] = set()
    counts: dict[str, int] = {}
    for row in rows:
        for key, value in row.items():
            if _group(key) is None:
                numbers.add(key)
            elif value:
                counts[key] = counts.get(key, 0) + 1
    groups = sorted({g for k in counts if (g := _group(k)) is not None})
    kept = [k for k, c in sorted(counts.items()) if c >= min_count and not k.endswith(f"={OTHER}")]
    return (*sorted(numbers), *kept, *(f"{g}={OTHER}" for g in groups))


def _auc_lower(auc: float, n_pos: int, n_neg: int) -> float:
    """One-sided 95% lower bound (Hanley & McNeil 1982 standard error)."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    return max(0.0, auc - 1.645 * math.sqrt(max(var, 0.0)))


def _reliability(p: Any, y: Any, bins: int = 10) -> list[dict[str, Any]]:
    which = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        count = int(mask.sum())
        out.append({"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "count": count,
                    "mean_predicted": round(float(p[mask].mean()), 4) if count else None,
                    "observed": round(float(y[mask].mean()), 4) if count else None})
    return out


def fit_logistic(rows: Sequence[Mapping[str, float]], labels: Sequence[bool], *, name: str, version: int,
                 times: Sequence[datetime], now: datetime, params: Mapping[str, float] | None = None,
                 min_examples: int = MIN_EXAMPLES, min_category_count: int = 5) -> LinearModel:
    """Train, calibrate and test a ``LinearModel`` on examples in time order.

    The earliest 60% fit a logistic regression (C picked from 0.1, 1, 10 by log loss on the
    next slice; the calibration map is the identity, see below), the latest 20% measure the model:
    every metric is on examples later than any the model learned from. Indicator values seen
    fewer than ``min_category_count`` times in the training slice fall into ``group=other``.
    ``NotEnoughData`` below ``min_examples`` or when a slice shows one outcome only.

    Usage:
        model = fit_logistic([features(e) for e in done], [e.missed for e in done], name="sla_risk",
                             version=previous.version + 1, times=[e.opened_at for e in done], now=now)
    """
    n = len(rows)
    if len(labels) != n or len(times) != n:
        raise ValueError(f"{name}: {n} rows, {len(labels)} labels and {len(times)} times must match")
    if n < min_examples:
        raise NotEnoughData(f"{name}: {n} labelled examples; at least {min_examples} are needed to train")
    order = sorted(range(n), key=lambda i: times[i])
    cut1, cut2 = int(n * _SPLIT[0]), int(n * (_SPLIT[0] + _SPLIT[1]))
    slices = {"training": order[:cut1], "calibration": order[cut1:cut2], "test": order[cut2:]}
    y_all = np.array([bool(v) for v in labels], dtype=float)
    for slice_name in ("training", "calibration"):
        seen = {bool(y_all[i]) for i in slices[slice_name]}
        if len(seen) < 2:
            idx = slices[slice_name]
            raise NotEnoughData(
                f"{name}: the {slice_name} slice ({len(idx)} examples, {times[idx[0]].isoformat()} to "
                f"{times[idx[-1]].isoformat()}) shows only {'positive' if seen == {True} else 'negative'} outcomes")

    # imported here, after the checks: scikit-learn takes seconds to import, prediction needs none of it
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score

    feature_names = _vocabulary([rows[i] for i in slices["training"]], min_category_count)
    index = {f: i for i, f in enumerate(feature_names)}

    def matrix(idx: list[int]) -> Any:
        return np.array([_vectorize(feature_names, index, rows[i], who=name) for i in idx], dtype=float)

    x_tr, x_cal, x_te = (matrix(slices[k]) for k in ("training", "calibration", "test"))
    y_tr, y_cal, y_te = (y_all[slices[k]] for k in ("training", "calibration", "test"))
    means, stds = x_tr.mean(axis=0), x_tr.std(axis=0)
    scales = np.where(stds > 1e-12, stds, 1.0)

    def std(x: Any) -> Any:
        return (x - means) / scales

    fits = []
    for c in _C_GRID:
        clf = LogisticRegression(C=c, max_iter=2000).fit(std(x_tr), y_tr)
        fits.append((log_loss(y_cal, clf.predict_proba(std(x_cal))[:, 1], labels=[0.0, 1.0]), c, clf))
    _, best_c, clf = min(fits, key=lambda t: t[0])
    coef, intercept = clf.coef_[0], float(clf.intercept_[0])

    def raw(x: Any) -> Any:
        return 1.0 / (1.0 + np.exp(-np.clip(intercept + std(x) @ coef, -_Z_CLIP, _Z_CLIP)))

    # No isotonic map: fitted on one short slice of history it was measured to overfit when
    # partners' behaviour shifts (worse Brier scores on later weeks than the regression's own
    # probabilities, which log loss calibrates by construction; benchmarks/README-intelligence.md).
    # The map stays the identity, and the test slice's reliability table shows how well the
    # probabilities hold.
    calibration = "logistic"
    cal_x, cal_y = np.array([0.0, 1.0]), np.array([0.0, 1.0])

    p_te = np.interp(raw(x_te), cal_x, cal_y)
    base = float(y_tr.mean())
    n_pos, n_neg = int(y_te.sum()), int(len(y_te) - y_te.sum())
    auc = float(roc_auc_score(y_te, p_te)) if n_pos and n_neg else None
    z_tr = intercept + std(x_tr) @ coef
    edges = np.unique(np.quantile(z_tr, np.linspace(0.1, 0.9, 9)))
    metrics = {
        "n_train": len(y_tr), "n_calibration": len(y_cal), "n_test": len(y_te),
        "base_rate": round(base, 6), "test_positive_rate": round(float(y_te.mean()), 6),
        "brier": round(float(np.mean((p_te - y_te) ** 2)), 6),
        "brier_of_base_rate": round(float(np.mean((base - y_te) ** 2)), 6),
        "auc": None if auc is None else round(auc, 6),
        "auc_lower": None if auc is None else round(_auc_lower(auc, n_pos, n_neg), 6),
        "log_loss": round(float(log_loss(y_te, np.clip(p_te, 1e-6, 1 - 1e-6), labels=[0.0, 1.0])), 6),
        "reliability": _reliability(p_te, y_te), "C": best_c, "calibration": calibration,
        "calibration_from": times[slices["calibration"][0]].isoformat(),
        "test_from": times[slices["test"][0]].isoformat(),
    }
    return LinearModel(
        name=name, version=version, trained_at=now, window=(times[order[0]], times[order[-1]]),
        feature_names=feature_names, means=tuple(float(v) for v in means),
        scales=tuple(float(v) for v in scales), coef=tuple(float(v) for v in coef), intercept=intercept,
        cal_x=tuple(float(v) for v in cal_x), cal_y=tuple(float(v) for v in cal_y), metrics=metrics,
        feature_stats={f: {"mean": float(means[j]), "std": float(stds[j])} for j, f in enumerate(feature_names)},
        score_edges=tuple(float(v) for v in edges), score_shares=tuple(float(v) for v in _shares(z_tr, edges)),
        params=dict(params or {}))

