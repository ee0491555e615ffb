"""Scalability laws: Amdahl's law and Gunther's Universal Scalability Law (USL).

Throughput of a system with :math:`n` concurrent workers (users, threads,
nodes) under the USL:

.. math:: X(n) = \\frac{\\lambda\\,n}{1 + \\sigma (n - 1) + \\kappa\\,n(n - 1)}

* :math:`\\lambda` — throughput of one worker (requests per second),
* :math:`\\sigma` — contention: the serialized share of the work (queueing on a
  shared resource, a lock); with :math:`\\kappa = 0` this is Amdahl's law,
* :math:`\\kappa` — coherency: the cost of keeping workers consistent
  (cache-line ping-pong, cross-node chatter), growing like :math:`n^2`; any
  :math:`\\kappa > 0` makes throughput peak at
  :math:`n^* = \\sqrt{(1 - \\sigma)/\\kappa}` and then fall (retrograde scaling).

References
----------
G. M. Amdahl, *Validity of the single processor approach to achieving large
scale computing capabilities*, AFIPS 1967.  N. J. Gunther, *Guerrilla Capacity
Planning*, Springer, 2007, ch. 4-5.  N. J. Gunther, *A simple capacity model of
massively parallel transaction systems*, CMG 1993.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from .core.validation import check_invertible, check_nonnegative, check_positive, check_probability
from .core.arrays import scalar_or_array

__all__ = ["amdahl_speedup", "usl_throughput", "usl_peak_concurrency", "USLFit", "fit_usl"]



def amdahl_speedup(workers, serial_fraction):
    """Amdahl's law: speedup of :math:`n` workers when a fraction :math:`\\sigma` of the work is serial.

    .. math:: S(n) = \\frac{n}{1 + \\sigma (n - 1)} = \\frac{1}{\\sigma + (1 - \\sigma)/n}
              \\;\\xrightarrow[n\\to\\infty]{}\\; \\frac{1}{\\sigma}

    Parameters
    ----------
    workers : float or array
        Number of workers, > 0 (fractional values allowed for plotting).
    serial_fraction : float or array
        :math:`\\sigma \\in [0, 1]`.

    References
    ----------
    Amdahl (1967); Gunther (2007), §4.3.
    """
    workers = np.asarray(check_positive(workers, "workers"), dtype=float)
    s = np.asarray(check_probability(serial_fraction, "serial_fraction"), dtype=float)
    return scalar_or_array(workers / (1.0 + s * (workers - 1.0)))


def usl_throughput(concurrency, sigma, kappa, base_throughput):
    """Universal Scalability Law throughput :math:`X(n)` at concurrency :math:`n` (same unit as ``base_throughput``).

    .. math:: X(n) = \\frac{\\lambda\\,n}{1 + \\sigma (n - 1) + \\kappa\\,n(n - 1)}

    Parameters
    ----------
    concurrency : float or array
        Concurrency (users, threads, nodes), > 0.
    sigma : float or array
        Contention coefficient, in [0, 1].
    kappa : float or array
        Coherency coefficient, >= 0.
    base_throughput : float or array
        Throughput at :math:`n = 1` (:math:`\\lambda`), > 0.

    References
    ----------
    Gunther (2007), eq. 4.31.
    """
    concurrency = np.asarray(check_positive(concurrency, "concurrency"), dtype=float)
    s = np.asarray(check_probability(sigma, "sigma"), dtype=float)
    k = np.asarray(check_nonnegative(kappa, "kappa"), dtype=float)
    lam = np.asarray(check_positive(base_throughput, "base_throughput"), dtype=float)
    try:
        np.broadcast_shapes(concurrency.shape, s.shape, k.shape, lam.shape)
    except ValueError:
        raise ValueError("concurrency, sigma, kappa and base_throughput must broadcast together, got shapes "
                         f"{concurrency.shape}, {s.shape}, {k.shape} and {lam.shape}") from None
    return scalar_or_array(_usl(concurrency, s, k, lam))


def _usl(n, s, k, lam):
    """:math:`X(n)` of checked arrays; past the float range the form divided by :math:`n` gives the limits."""
    with np.errstate(over="ignore", invalid="ignore"):
        x = lam * n / (1.0 + s * (n - 1.0) + k * n * (n - 1.0))
        far = ~np.isfinite(x)
        if far.any():
            x = np.where(far, lam / (1.0 / n + s * (1.0 - 1.0 / n) + k * (n - 1.0)), x)
    return x


def usl_peak_concurrency(sigma, kappa):
    """Concurrency of maximum USL throughput, :math:`n^* = \\sqrt{(1 - \\sigma)/\\kappa}` (``inf`` when :math:`\\kappa = 0`).

    References
    ----------
    Gunther (2007), eq. 4.33.
    """
    s = np.asarray(check_probability(sigma, "sigma"), dtype=float)
    k = np.asarray(check_nonnegative(kappa, "kappa"), dtype=float)
    with np.errstate(divide="ignore", over="ignore"):  # kappa below the float range: inf, the limit kappa -> 0
        return scalar_or_array(np.where(k > 0, np.sqrt((1.0 - s) / np.where(k > 0, k, 1.0)), np.inf))


@dataclass(frozen=True)
class USLFit:
    """USL coefficients fitted to measurements, with derived quantities.

    Attributes
    ----------
    sigma, kappa, base_throughput : float
        Contention, coherency and single-worker throughput.
    concurrency, throughput : arrays
        The measurements the fit was made on.
    r_squared : float
        Coefficient of determination of the fit on ``throughput``.
    """

    sigma: float
    kappa: float
    base_throughput: float
    concurrency: np.ndarray = field(repr=False)
    throughput: np.ndarray = field(repr=False)
    r_squared: float = field(default=float("nan"))

    @property
    def peak_concurrency(self) -> float:
        """:math:`n^* = \\sqrt{(1-\\sigma)/\\kappa}`; ``inf`` when no coherency cost was found."""
        return usl_peak_concurrency(self.sigma, self.kappa)

    @property
    def peak_throughput(self) -> float:
        """:math:`X(n^*)`; :math:`\\lambda/\\sigma` (the Amdahl ceiling) when :math:`\\kappa = 0`."""
        if np.isinf(self.peak_concurrency):
            return self.base_throughput / self.sigma if self.sigma > 0 else float("inf")
        return self.predict(self.peak_concurrency)

    def predict(self, concurrency):
        """USL throughput at ``concurrency`` with the fitted coefficients."""
        return usl_throughput(concurrency, self.sigma, self.kappa, self.base_throughput)

    @property
    def residuals(self) -> np.ndarray:
        """Measured minus fitted throughput."""
        return self.throughput - np.asarray(self.predict(self.concurrency))


def fit_usl(concurrency, throughput) -> USLFit:
    """Fit :math:`(\\sigma, \\kappa, \\lambda)` of the USL to measured throughput by nonlinear least squares.

    Minimizes :math:`\\sum_i (X_i - X(n_i; \\sigma, \\kappa, \\lambda))^2` with
    :math:`0 \\le \\sigma \\le 1`, :math:`\\kappa \\ge 0`, :math:`\\lambda > 0`
    (scipy's trust-region reflective ``least_squares``), started from several
    points so that a local minimum is not mistaken for the fit.  All three
    coefficients are free, as in the ``usl`` R package's default; the first
    measurement is not forced to be :math:`\\lambda`.

    Parameters
    ----------
    concurrency : array of float
        Concurrency levels :math:`n_i > 0` (at least 3 distinct values).
    throughput : array of float
        Measured throughput :math:`X_i > 0` at each level, any unit.

    Returns
    -------
    USLFit
        With ``sigma``, ``kappa``, ``base_throughput``, ``peak_concurrency``,
        ``peak_throughput`` and ``predict(n)``.

    References
    ----------
    Gunther (2007), ch. 5 (fitting by regression); S. Möding, *usl: Analyze
    System Scalability with the Universal Scalability Law*, R package, 2020.
    """
    # each throughput per worker X / n is finite (the fit's starting point and scale)
    n = np.atleast_1d(check_invertible(concurrency, "concurrency")).astype(float)
    x = np.atleast_1d(check_positive(throughput, "throughput")).astype(float)
    if n.ndim != 1 or n.shape != x.shape:
        raise ValueError(f"concurrency and throughput must be 1-D of equal length, got {n.shape} and {x.shape}")
    if len(np.unique(n)) < 3:
        raise ValueError(f"concurrency needs at least 3 distinct values to fit 3 coefficients, got {np.unique(n)}")
    scale = x.max()
    xs = x / scale  # fit in units of the largest throughput: well-conditioned for any unit

    def resid(p):
        s, k, lam = p
        return _usl(n, s, k, lam) - xs

    lam0 = float(np.max(xs / n))  # one worker cannot beat the best per-worker rate seen
    best = None
    for s0 in (0.01, 0.1, 0.5):
        for k0 in (0.0, 1e-4, 1e-2):
            sol = optimize.least_squares(resid, [s0, k0, lam0], bounds=([0.0, 0.0, 1e-12], [1.0, np.inf, np.inf]),
                                         x_scale=[0.1, 1e-3, lam0], xtol=1e-15, ftol=1e-15, gtol=1e-15,
                                         max_nfev=20_000)
            if best is None or sol.cost < best.cost:
                best = sol
    s, k, lam = best.x
    fitted = _usl(n, s, k, lam)
    ss_tot = float(((xs - xs.mean()) ** 2).sum())
    r2 = 1.0 - float(((xs - fitted) ** 2).sum()) / ss_tot if ss_tot > 0 else 1.0
    return USLFit(float(s), float(k), float(lam * scale), n, x, r2)
