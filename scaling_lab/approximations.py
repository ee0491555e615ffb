"""Approximations for queues with no exact closed form: Allen–Cunneen for G/G/c.

Exact for M/M/c and M/G/1 (where it reduces to :class:`~scaling_lab.queueing.MMc`
and Pollaczek–Khinchine), typically within 10 % for M/G/c at moderate to high
load; the message-queue chapter shows where it is far off (very variable service at light load).

References
----------
A. O. Allen, *Probability, Statistics, and Queueing Theory*, 2nd ed.,
Academic Press, 1990, §6.3; W. Whitt, *Approximations for the GI/G/m queue*,
Production and Operations Management 2 (1993).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .core.arrays import scalar_or_array
from .queueing import MMc, _LittlesLaw

__all__ = ["MGc"]


@dataclass(frozen=True)
class MGc(_LittlesLaw):
    """Allen–Cunneen approximation of a G/G/c queue (M/G/c with the default ``arrival_scv=1``).

    .. math:: E[W_q] \\approx \\frac{C(c, a)}{c\\mu - \\lambda}\\,\\frac{c_a^2 + c_s^2}{2}

    the exact M/M/c wait (Erlang C) scaled by the variability of arrivals
    (:math:`c_a^2`) and service (:math:`c_s^2`).  Exact for M/M/c and for M/G/1
    (where it is Pollaczek–Khinchine); for M/G/c typically within 10 % at
    moderate to high load, less accurate for very variable service at light load.
    Broadcasts over numpy arrays; unstable -> ``inf``.

    Parameters
    ----------
    arrival_rate, service_rate : float or array
        :math:`\\lambda` and :math:`\\mu = 1/E[S]` per server, per second.
    servers : int or array of int
        :math:`c \\ge 1`.
    scv : float or array
        Service-time squared coefficient of variation :math:`c_s^2 \\ge 0`.
    arrival_scv : float or array
        Interarrival squared coefficient of variation :math:`c_a^2 \\ge 0` (1 = Poisson).

    References
    ----------
    A. O. Allen, *Probability, Statistics, and Queueing Theory*, 2nd ed.,
    Academic Press, 1990, §6.3; W. Whitt, *Approximations for the GI/G/m queue*,
    Production and Operations Management 2 (1993).
    """

    arrival_rate: ArrayLike
    service_rate: ArrayLike
    servers: ArrayLike
    scv: ArrayLike = 1.0
    arrival_scv: ArrayLike = 1.0

    @property
    def _mmc(self) -> MMc:
        return MMc(self.arrival_rate, self.service_rate, self.servers)

    @property
    def utilization(self):
        """:math:`\\rho = \\lambda/(c\\mu)`."""
        return self._mmc.utilization

    @property
    def stable(self):
        """True where :math:`\\rho < 1`."""
        return self._mmc.stable

    @property
    def prob_wait(self):
        """Erlang C :math:`C(c, a)`, used as the approximate probability of waiting."""
        return self._mmc.prob_wait

    @property
    def mean_wait(self):
        """Allen–Cunneen mean wait, seconds; ``inf`` when unstable."""
        factor = (np.asarray(self.arrival_scv) + np.asarray(self.scv)) / 2.0
        return scalar_or_array(np.asarray(self._mmc.mean_wait) * factor)
