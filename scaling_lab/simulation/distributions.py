"""Service-time distributions: durations in seconds with a known mean and squared coefficient of variation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..core.validation import MAX_ELEMENTS, check_fields, check_in_range, check_integer, check_positive

__all__ = ["Distribution", "Exponential", "Deterministic", "LogNormal", "HyperExponential", "Gamma"]


def check_size(n) -> int:
    """The number of values asked of ``sample`` (or of arrival times): an integer in [0, MAX_ELEMENTS]."""
    return check_integer(n, "n", minimum=0, maximum=MAX_ELEMENTS, scalar=True)


class Distribution:
    """A non-negative random duration (seconds) with known mean and squared coefficient of variation.

    Subclasses define ``mean``, ``scv`` (:math:`c^2 = \\mathrm{Var}/\\mathrm{mean}^2`)
    and ``sample(rng, n)``; ``rng`` is a :class:`numpy.random.Generator` or a seed.
    Those that are frozen dataclasses take each parameter as one positive number
    unless their own ``__post_init__`` says otherwise.
    """

    mean: float
    scv: float

    def __post_init__(self):
        check_fields(self, scalar=True, **dict.fromkeys(self.__dataclass_fields__, check_positive))

    @property
    def variance(self) -> float:
        """:math:`\\mathrm{Var}[S] = c^2 E[S]^2` in seconds squared (``inf`` past the float range)."""
        with np.errstate(over="ignore"):
            return float(self.scv * np.square(np.float64(self.mean))) if self.scv else 0.0

    @property
    def second_moment(self) -> float:
        """:math:`E[S^2] = (1 + c^2) E[S]^2`, the quantity Pollaczek–Khinchine needs (``inf`` past the float range)."""
        with np.errstate(over="ignore"):
            return float((1.0 + self.scv) * np.square(np.float64(self.mean)))

    @property
    def rate(self) -> float:
        """:math:`1/E[S]`, e.g. the service rate of a server with this service time."""
        return 1.0 / self.mean

    def sample(self, rng, n: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Exponential(Distribution):
    """Exponential duration with the given mean (seconds); :math:`c^2 = 1`."""

    mean: float
    scv = 1.0  # a class constant, not a field

    def sample(self, rng, n: int) -> np.ndarray:
        return np.random.default_rng(rng).exponential(self.mean, check_size(n))


@dataclass(frozen=True)
class Deterministic(Distribution):
    """A constant duration ``value`` seconds; :math:`c^2 = 0`."""

    value: float
    scv = 0.0  # a class constant, not a field

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng, n: int) -> np.ndarray:
        return np.full(check_size(n), self.value)


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Lognormal duration with the given mean (seconds) and squared coefficient of variation.

    With :math:`s^2 = \\ln(1 + c^2)` and :math:`m = \\ln E[S] - s^2/2`,
    :math:`S = e^{m + sZ}`, :math:`Z \\sim N(0, 1)`.  Heavy-ish tail: a common
    fit to web request latencies.
    """

    mean: float
    scv: float

    def sample(self, rng, n: int) -> np.ndarray:
        s2 = math.log1p(self.scv)
        return np.random.default_rng(rng).lognormal(math.log(self.mean) - s2 / 2, math.sqrt(s2), check_size(n))


@dataclass(frozen=True)
class HyperExponential(Distribution):
    """Two-phase hyperexponential (H2) with balanced means, mean (seconds) and :math:`c^2 \\ge 1`.

    With probability :math:`p = \\tfrac12\\left(1 + \\sqrt{(c^2-1)/(c^2+1)}\\right)`
    the duration is exponential with rate :math:`2p/E[S]`, else with rate
    :math:`2(1-p)/E[S]`: many short requests and a few very long ones.

    References
    ----------
    W. Whitt, *Approximating a point process by a renewal process: two basic
    methods*, Operations Research 30 (1982) (balanced-means H2 fit).
    """

    mean: float
    scv: float

    def __post_init__(self):
        check_fields(self, scalar=True, mean=check_positive,
                     scv=partial(check_in_range, low=1.0, high=np.inf, high_open=True))

    @property
    def p(self) -> float:
        """Probability of the fast phase."""
        return 0.5 * (1.0 + math.sqrt((self.scv - 1.0) / (self.scv + 1.0)))

    def sample(self, rng, n: int) -> np.ndarray:
        rng = np.random.default_rng(rng)
        n = check_size(n)
        p = self.p
        fast = rng.random(n) < p
        means = np.where(fast, self.mean / (2 * p), self.mean / (2 * (1 - p)))
        return rng.exponential(1.0, n) * means


@dataclass(frozen=True)
class Gamma(Distribution):
    """Gamma duration with the given mean (seconds) and :math:`c^2` (shape :math:`1/c^2`).

    :math:`c^2 = 1/k` gives the Erlang-k distribution: less variable than exponential.
    """

    mean: float
    scv: float

    def sample(self, rng, n: int) -> np.ndarray:
        return np.random.default_rng(rng).gamma(1.0 / self.scv, self.mean * self.scv, check_size(n))


# ---------------------------------------------------------------------------


def check_distribution(obj, name: str) -> Distribution:
    if not isinstance(obj, Distribution):
        raise ValueError(f"{name} must be a Distribution (Exponential, Deterministic, LogNormal, "
                         f"HyperExponential, Gamma), got {obj!r}")
    return obj
