"""Autoscaling: how long adding servers takes, and the headroom a growing load needs meanwhile.

An autoscaler watches a load metric sampled every :math:`P` seconds and adds
servers after :math:`k` consecutive samples above its target; a new server
takes traffic :math:`B` seconds after it is requested (boot, application
start, health checks).  A load that crosses the target at a moment uniform
within a sampling period therefore gets new capacity after

.. math:: L = U P + (k - 1) P + B, \\qquad U \\sim \\mathrm{Uniform}(0, 1),

the same structure as a health check's detection time
(:func:`scaling_lab.healthcheck.detection_time`).  A load growing at
:math:`r` requests per second every second keeps growing during :math:`L`, so
the pool must still meet its SLO at :math:`r L_{max}` more than the rate at
which the autoscaler fires: that spare capacity is the headroom, and the
autoscaler's target follows from it.

Units: seconds, requests per second, and requests per second per second for ramps.

References
----------
Amazon Web Services, *Target tracking scaling policies for Amazon EC2 Auto
Scaling*, EC2 Auto Scaling user guide (metrics at 1-minute intervals,
instance warm-up).  A. Gandhi, M. Harchol-Balter, R. Raghunathan and
M. A. Kozuch, *AutoScale: dynamic, robust capacity management for multi-tier
data centers*, ACM Trans. Computer Systems 30(4), 2012 (setup times).
"""

from __future__ import annotations

from dataclasses import dataclass

from .core.validation import MAX_COUNT, check_integer, check_nonnegative, check_positive
from .healthcheck import DetectionTime, detection_time

__all__ = ["scale_out_lag", "ScaleOutTarget", "scale_out_target"]


def scale_out_lag(interval_s: float, breaching_periods: int, boot_s: float) -> DetectionTime:
    """Seconds from the load crossing the autoscaler's target until new servers take traffic.

    .. math:: E[L] = \\left(k - \\tfrac12\\right) P + B, \\qquad (k - 1) P + B \\le L \\le k P + B

    Parameters
    ----------
    interval_s : float
        :math:`P > 0`, seconds between two samples of the metric.
    breaching_periods : int
        :math:`k \\ge 1` consecutive samples above the target before servers are added.
    boot_s : float
        :math:`B \\ge 0`, seconds from the request for a server until it serves.

    Returns
    -------
    DetectionTime
        Mean, minimum and maximum lag, seconds.
    """
    b = check_nonnegative(boot_s, "boot_s", scalar=True)
    d = detection_time(check_positive(interval_s, "interval_s", scalar=True), check_integer(breaching_periods, "breaching_periods", minimum=1,
                                                  maximum=MAX_COUNT, scalar=True), 0.0)
    return DetectionTime(d.mean + b, d.minimum + b, d.maximum + b)


@dataclass(frozen=True)
class ScaleOutTarget:
    """Result of :func:`scale_out_target` (rates in requests per second).

    Attributes
    ----------
    headroom_rate : float
        :math:`r L`: the growth of the load while new servers start.
    trigger_rate : float
        :math:`\\lambda_{slo} - r L` (0 if negative): the highest load at which scaling must fire.
    target_fraction : float
        ``trigger_rate`` as a fraction of the pool's SLO capacity :math:`\\lambda_{slo}`.
    feasible : bool
        False when the ramp outgrows the whole SLO capacity during the lag.
    """

    headroom_rate: float
    trigger_rate: float
    target_fraction: float
    feasible: bool


def scale_out_target(slo_rate: float, ramp_rate: float, lag_s: float) -> ScaleOutTarget:
    """The load at which an autoscaler must add servers for a ramping load to keep its SLO.

    A load :math:`\\lambda(t) = \\lambda_0 + r t` that reaches the trigger
    :math:`\\lambda^*` gets new servers :math:`L` seconds later, by which time
    it is :math:`\\lambda^* + r L`.  The pool holds its SLO through the lag iff
    that is at most its SLO capacity :math:`\\lambda_{slo}`
    (:func:`~scaling_lab.capacity.max_arrival_rate` times the servers):

    .. math:: \\lambda^* = \\lambda_{slo} - r L, \\qquad
              \\frac{\\lambda^*}{\\lambda_{slo}} = 1 - \\frac{r L}{\\lambda_{slo}}.

    Pass the *largest* lag (``scale_out_lag(...).maximum``) to hold the SLO
    whenever the crossing happens.  A ramp so fast that :math:`r L \\ge
    \\lambda_{slo}` is not an error: ``feasible`` is False and the trigger 0.

    Parameters
    ----------
    slo_rate : float
        :math:`\\lambda_{slo} > 0`, the rate the current pool carries within its SLO.
    ramp_rate : float
        :math:`r \\ge 0`, growth of the load, requests per second per second.
    lag_s : float
        :math:`L \\ge 0`, seconds from the trigger until new servers serve.
    """
    cap = check_positive(slo_rate, "slo_rate", scalar=True)
    r = check_nonnegative(ramp_rate, "ramp_rate", scalar=True)
    lag = check_nonnegative(lag_s, "lag_s", scalar=True)
    head = r * lag
    trigger = max(cap - head, 0.0)
    return ScaleOutTarget(float(head), float(trigger), float(trigger / cap), bool(head < cap))
