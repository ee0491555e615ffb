"""Availability: k-of-n tiers, series and parallel composition, failover.

Availability :math:`A` is the long-run fraction of time a component works;
:math:`U = 1 - A` its unavailability.  With many nines :math:`A` rounds to 1
in floating point while :math:`U` is still meaningful, so every function here
computes unavailability directly and has a ``*_unavailability`` form that takes
and returns :math:`U` without ever forming :math:`1 - U`.

References
----------
M. Rausand and A. Høyland, *System Reliability Theory*, 2nd ed., Wiley, 2004,
ch. 4 (structures) and ch. 8 (Markov models).
K. S. Trivedi, *Probability and Statistics with Reliability, Queuing, and
Computer Science Applications*, 2nd ed., Wiley, 2002, ch. 8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, special

from .core.validation import (
    MAX_COUNT,
    MAX_ELEMENTS,
    MIN_INVERTIBLE,
    check_integer,
    check_invertible,
    check_nonnegative,
    check_positive,
    check_probability,
)
from .core.arrays import scalar_or_array

__all__ = [
    "MINUTES_PER_YEAR",
    "from_mttf",
    "downtime_minutes_per_year",
    "nines",
    "k_of_n",
    "k_of_n_unavailability",
    "series_availability",
    "series_unavailability",
    "parallel_availability",
    "parallel_unavailability",
    "FailoverAvailability",
    "failover_generator",
    "primary_failover",
]

MINUTES_PER_YEAR = 365.25 * 24 * 60



def from_mttf(mttf_h, mttr_h):
    """Steady-state availability :math:`A = \\mathrm{MTTF} / (\\mathrm{MTTF} + \\mathrm{MTTR})`.

    Parameters
    ----------
    mttf_h, mttr_h : float or array
        Mean time to failure (> 0) and to repair (>= 0), same unit.

    References
    ----------
    Rausand and Høyland (2004), §4.
    """
    f = np.asarray(check_positive(mttf_h, "mttf_h"), dtype=float)
    r = np.asarray(check_nonnegative(mttr_h, "mttr_h"), dtype=float)
    return scalar_or_array(f / (f + r))


def downtime_minutes_per_year(availability):
    """Expected downtime :math:`(1 - A) \\times 525\\,960` minutes per (Julian) year."""
    a = np.asarray(check_probability(availability, "availability"), dtype=float)
    return scalar_or_array((1.0 - a) * MINUTES_PER_YEAR)


def nines(unavailability):
    """Number of nines, :math:`-\\log_{10} U` (3 for 99.9 %); pass the *unavailability*."""
    u = np.asarray(check_probability(unavailability, "unavailability"), dtype=float)
    with np.errstate(divide="ignore"):
        return scalar_or_array(-np.log10(u))


def k_of_n_unavailability(k, n, unavailability):
    """Unavailability of a tier that works while at least ``k`` of ``n`` independent replicas are up.

    The tier fails when more than :math:`n - k` replicas are down; with
    :math:`X \\sim \\mathrm{Binomial}(n, u)` the number down,

    .. math:: U = P(X \\ge n - k + 1) = \\sum_{j = n-k+1}^{n} \\binom{n}{j} u^j (1-u)^{n-j},

    evaluated as the regularized incomplete beta function
    :math:`I_u(n-k+1, k)`, so :math:`U` keeps full relative precision at
    :math:`10^{-20}` and below.

    Parameters
    ----------
    k, n : int
        :math:`1 \\le k \\le n`.
    unavailability : float or array
        :math:`u` of one replica, in [0, 1].
    """
    k = check_integer(k, "k", minimum=1, maximum=MAX_COUNT)
    n = check_integer(n, "n", minimum=1, maximum=MAX_ELEMENTS)
    if np.any(np.asarray(k) > np.asarray(n)):
        raise ValueError(f"k must be in [1, n] (k <= n = {n!r}), got {k!r}")
    u = np.asarray(check_probability(unavailability, "unavailability"), dtype=float)
    # P(X >= m) = I_u(m, n - m + 1), the regularized incomplete beta function, m = n - k + 1
    # (the same value as scipy.stats.binom.sf(n - k, n, u), about forty times faster for one value).
    return scalar_or_array(special.betainc(np.asarray(n) - np.asarray(k) + 1, k, u))


def k_of_n(k, n, availability):
    """Availability of a k-out-of-n tier of independent replicas, each available ``availability``.

    .. math:: A = P(\\mathrm{Binomial}(n, a) \\ge k)

    computed as :math:`1 - U` with :math:`U` from :func:`k_of_n_unavailability`
    (use that function for many nines).  :math:`k = 1` is parallel
    redundancy, :math:`k = n` is series, :math:`k = \\lfloor n/2 \\rfloor + 1`
    a majority quorum.
    """
    a = np.asarray(check_probability(availability, "availability"), dtype=float)
    return scalar_or_array(1.0 - np.asarray(k_of_n_unavailability(k, n, 1.0 - a)))


def series_unavailability(*unavailabilities):
    """Unavailability of components in series (all must work): :math:`1 - \\prod (1 - u_i)`, as ``-expm1(sum log1p(-u))``."""
    us = [np.asarray(check_probability(u, f"unavailabilities[{i}]"), dtype=float)
          for i, u in enumerate(unavailabilities)]
    if not us:
        raise ValueError("give at least one component")
    with np.errstate(divide="ignore"):
        return scalar_or_array(-np.expm1(sum(np.log1p(-u) for u in us)))


def series_availability(*availabilities):
    """Availability of components in series: :math:`A = \\prod_i A_i`."""
    return scalar_or_array(1.0 - np.asarray(series_unavailability(*[1.0 - np.asarray(
        check_probability(a, f"availabilities[{i}]"), dtype=float) for i, a in enumerate(availabilities)])))


def parallel_unavailability(*unavailabilities):
    """Unavailability of independent redundant components (one suffices): :math:`\\prod_i u_i`."""
    us = [np.asarray(check_probability(u, f"unavailabilities[{i}]"), dtype=float)
          for i, u in enumerate(unavailabilities)]
    if not us:
        raise ValueError("give at least one component")
    return scalar_or_array(np.prod(np.broadcast_arrays(*us), axis=0))


def parallel_availability(*availabilities):
    """Availability of independent redundant components: :math:`A = 1 - \\prod_i (1 - A_i)`."""
    return scalar_or_array(1.0 - np.asarray(parallel_unavailability(*[1.0 - np.asarray(
        check_probability(a, f"availabilities[{i}]"), dtype=float) for i, a in enumerate(availabilities)])))


@dataclass(frozen=True)
class FailoverAvailability:
    """Result of :func:`primary_failover`.

    Attributes
    ----------
    availability, unavailability : float
        Long-run fraction of time the service is up / down.
    downtime_minutes_per_year : float
    outages_per_year : float
        Rate of transitions from serving to not serving.
    state_probabilities : dict
        Stationary probability of each state: ``"both_up"``, ``"failing_over"``,
        ``"one_up"``, ``"both_down"``.
    """

    availability: float
    unavailability: float
    downtime_minutes_per_year: float
    outages_per_year: float
    state_probabilities: dict


_STATES = ("both_up", "failing_over", "one_up", "both_down")
_WIDE_RATES = 1e12  # rate spread past which the balance equations are solved through the jump chain
_SERVING = np.array([True, False, True, False])


def failover_generator(mttf_h: float, mttr_h: float, failover_s: float) -> np.ndarray:
    """Generator matrix :math:`Q` (per hour) of the primary-with-standby chain; see :func:`primary_failover`."""
    lam = 1.0 / check_invertible(mttf_h, "mttf_h", scalar=True)  # rates of the generator: finite
    mu = 1.0 / check_invertible(mttr_h, "mttr_h", scalar=True)
    tau_s = check_nonnegative(failover_s, "failover_s", scalar=True)
    if tau_s > 0 and not 3600.0 / tau_s < np.inf:
        raise ValueError(f"failover_s must be 0 or at least {3600.0 * MIN_INVERTIBLE:.4g} (a finite failover rate), "
                         f"got {tau_s!r}")
    q = np.zeros((4, 4))
    up2, fo, up1, down = range(4)
    if tau_s > 0:
        q[up2, fo] = lam           # primary fails: outage until failover completes
        q[up2, up1] = lam          # standby fails: no outage
        q[fo, up1] = 3600.0 / tau_s  # failover completes
        q[fo, down] = lam          # standby fails during failover
        q[fo, up2] = mu            # failed primary repaired first: service resumes on it
    else:
        q[up2, up1] = 2 * lam      # instantaneous failover
    q[up1, up2] = mu
    q[up1, down] = lam
    q[down, up1] = 2 * mu          # each failed node is repaired independently
    np.fill_diagonal(q, -q.sum(axis=1))
    return q


def primary_failover(mttf_h: float, mttr_h: float, failover_s: float) -> FailoverAvailability:
    """Availability of a primary with one hot standby and automatic failover.

    A continuous-time Markov chain with states *both up* (serving),
    *failing over* (primary down, standby taking over: not serving),
    *one up* (serving, the other in repair) and *both down*.  Each node fails
    at rate :math:`\\lambda = 1/\\mathrm{MTTF}` and is repaired independently at
    :math:`\\mu = 1/\\mathrm{MTTR}`; a failover takes an exponential time of
    mean :math:`\\tau`.  When the standby fails nothing is interrupted.

    .. math:: \\pi Q = 0, \\quad \\sum \\pi = 1, \\qquad
              U = \\pi_{\\text{failing over}} + \\pi_{\\text{both down}}

    The stationary vector is solved directly for the small probabilities (no
    :math:`1 - A` cancellation).  With :math:`\\tau = 0` the model reduces to
    two independent nodes in parallel: :math:`U = (\\lambda/(\\lambda+\\mu))^2`.
    For small :math:`\\tau` the failover term is about
    :math:`2\\lambda\\tau \\cdot \\pi_{\\text{both up}}/2`: each primary failure
    costs one failover time.

    Parameters
    ----------
    mttf_h : float
        Mean time to failure of one node, hours.
    mttr_h : float
        Mean time to repair one node, hours.
    failover_s : float
        Mean failover time, seconds (>= 0).

    References
    ----------
    Trivedi (2002), ch. 8; Rausand and Høyland (2004), ch. 8.
    """
    q = failover_generator(mttf_h, mttr_h, failover_s)
    keep = np.ones(4, dtype=bool)
    if check_nonnegative(failover_s, "failover_s", scalar=True) == 0:
        keep[1] = False
    qs = q[np.ix_(keep, keep)]
    m = qs.shape[0]
    out_rates = -np.diag(qs)  # every state of the chain is left at some rate
    b = np.zeros(m)
    b[-1] = 1.0
    with np.errstate(over="ignore"):
        spread = out_rates.max() / out_rates.min()
    if spread <= _WIDE_RATES:
        a = qs.T.copy()
        a[-1, :] = 1.0  # replace one balance equation by the normalization
        pi_small = linalg.solve(a, b)
    else:  # rates many decades apart: solve for the flows y_i = pi_i q_i of the jump chain (entries in [0, 1])
        jump = qs / out_rates[:, None] + np.eye(m)  # off-diagonal: the jump probabilities; diagonal 0
        a = jump.T - np.eye(m)
        a[-1, :] = 1.0
        flows = np.clip(linalg.solve(a, b), 0.0, None)
        pi_small = flows * (out_rates.min() / out_rates)  # pi_i proportional to y_i / q_i, scaled to stay in range
        pi_small = pi_small / pi_small.sum()
    pi = np.zeros(4)
    pi[keep] = np.clip(pi_small, 0.0, None)
    u = float(pi[~_SERVING].sum())
    flow_out = float(sum(pi[i] * q[i, j] for i in range(4) for j in range(4)
                         if _SERVING[i] and not _SERVING[j]))
    hours_per_year = MINUTES_PER_YEAR / 60.0
    return FailoverAvailability(1.0 - u, u, u * MINUTES_PER_YEAR, flow_out * hours_per_year,
                                dict(zip(_STATES, pi.tolist())))
