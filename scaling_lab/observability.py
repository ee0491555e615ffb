"""Observability arithmetic: SLO error budgets, burn-rate alerts, and what telemetry costs.

An SLO of :math:`s` (say 99.9 % of requests good over 30 days) leaves an *error
budget* of :math:`1 - s` of the requests (or of the time).  A service failing a
fraction :math:`e` of requests burns the budget at rate :math:`b = e/(1 - s)`:
at :math:`b = 1` it lasts exactly the SLO window.  Alerting on the burn rate
over a short window catches fast burns without paging on noise.

Telemetry volume: a log line per event at :math:`r` events per second, sampled
with probability :math:`p`, writes :math:`r p s \\cdot 86\\,400` bytes a day
(:func:`scaling_lab.tails.daily_volume_bytes` without sampling); a metric
time series scraped every :math:`\\Delta` seconds stores :math:`86\\,400/\\Delta`
samples a day, about 1.37 bytes each with Gorilla compression.

References
----------
B. Beyer, C. Jones, J. Petoff and N. R. Murphy (eds.), *Site Reliability
Engineering*, O'Reilly, 2016, ch. 3-4 (error budgets, SLOs).
B. Beyer, N. R. Murphy, D. K. Rensin, K. Kawahara and S. Thorne (eds.), *The
Site Reliability Workbook*, O'Reilly, 2018, ch. 5 (burn-rate alerts).
T. Pelkonen et al., *Gorilla: a fast, scalable, in-memory time series
database*, VLDB 2015 (1.37 bytes per sample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .core.validation import check_in_range, check_nonnegative, check_positive, check_probability
from .tails import daily_volume_bytes
from .core.arrays import product_past_range, scalar_or_array

__all__ = ["GORILLA_BYTES_PER_SAMPLE", "error_budget", "burn_rate", "budget_exhaustion_time",
           "burn_rate_threshold", "sampled_log_bytes_per_day", "metric_bytes_per_day",
           "CanaryDetection", "canary_detection"]

#: Mean bytes per (timestamp, value) sample with Gorilla compression (Pelkonen et al. 2015).
GORILLA_BYTES_PER_SAMPLE = 1.37



def error_budget(slo, window):
    """Allowed bad fraction times the window: :math:`(1 - s)\\,W`.

    ``window`` in any unit (seconds, minutes, requests): 99.9 % over 30 days
    (43,200 minutes) is 43.2 minutes; over a million requests, 1,000 requests.
    """
    s = np.asarray(check_in_range(slo, "slo", 0.0, 1.0, high_open=True), dtype=float)
    w = np.asarray(check_nonnegative(window, "window"), dtype=float)
    return scalar_or_array((1.0 - s) * w)


def burn_rate(error_ratio, slo):
    """Budget burn rate :math:`b = e / (1 - s)`: 1 spends the budget in exactly the SLO window."""
    e = np.asarray(check_probability(error_ratio, "error_ratio"), dtype=float)
    s = np.asarray(check_in_range(slo, "slo", 0.0, 1.0, high_open=True), dtype=float)
    return scalar_or_array(e / (1.0 - s))


def budget_exhaustion_time(error_ratio, slo, window):
    """Time until a constant error ratio spends a full budget: :math:`W / b` (``inf`` without errors)."""
    b = np.asarray(burn_rate(error_ratio, slo), dtype=float)
    w = np.asarray(check_positive(window, "window"), dtype=float)
    with np.errstate(divide="ignore", over="ignore"):  # a burn rate below the float range: inf, its limit
        return scalar_or_array(np.where(b > 0, w / np.where(b > 0, b, 1.0), np.inf))


def burn_rate_threshold(budget_fraction, alert_window, slo_window):
    """Burn rate that spends ``budget_fraction`` of the budget within ``alert_window``.

    .. math:: b^{*} = f \\, \\frac{W_{SLO}}{W_{alert}}

    The SRE workbook pages when 2 % of a 30-day budget burns within an hour
    (:math:`b^* = 14.4`) or 5 % within six hours (:math:`b^* = 6`), and opens a
    ticket for 10 % within three days (:math:`b^* = 1`).
    """
    f = np.asarray(check_in_range(budget_fraction, "budget_fraction", 0.0, 1.0, low_open=True), dtype=float)
    a = np.asarray(check_positive(alert_window, "alert_window"), dtype=float)
    w = np.asarray(check_positive(slo_window, "slo_window"), dtype=float)
    with np.errstate(over="ignore"):  # past the float range the threshold is inf, its limit
        return scalar_or_array(f * w / a)


def sampled_log_bytes_per_day(events_per_s, bytes_per_event, sample_rate=1.0):
    """Bytes of logs a day when each event is kept with probability ``sample_rate``: :math:`r\\,p\\,s \\cdot 86\\,400`."""
    p = np.asarray(check_probability(sample_rate, "sample_rate"), dtype=float)
    r = np.asarray(check_nonnegative(events_per_s, "events_per_s"), dtype=float)
    return scalar_or_array(np.asarray(daily_volume_bytes(r * p, bytes_per_event), dtype=float))


def metric_bytes_per_day(series, scrape_interval_s, bytes_per_sample=GORILLA_BYTES_PER_SAMPLE):
    """Bytes a day stored for ``series`` time series scraped every ``scrape_interval_s``.

    .. math:: V = N \\, \\frac{86\\,400}{\\Delta} \\, b

    A series is one metric name with one combination of label values, so the
    count multiplies: servers x metrics x label values.
    """
    n = np.asarray(check_nonnegative(series, "series"), dtype=float)
    d = np.asarray(check_positive(scrape_interval_s, "scrape_interval_s"), dtype=float)
    b = np.asarray(check_positive(bytes_per_sample, "bytes_per_sample"), dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        plain = n * 86_400.0 / d * b
    return scalar_or_array(product_past_range(plain, (n, 86_400.0, b), (d,)))


@dataclass(frozen=True)
class CanaryDetection:
    """What a canary release needs to tell a bad release from a good one.

    Attributes
    ----------
    requests_needed : int
        Canary requests :math:`n` the test must see.
    detection_time_s : float
        :math:`n/(f\\Lambda)`, seconds the canary must run (its bake time).
    extra_errors : float
        :math:`n(p_1 - p_0)`, requests failed by a bad release before the verdict.
    error_threshold : float
        Alarm when the canary's failed requests among :math:`n` exceed
        :math:`n p_0 + z_{1-\\alpha}\\sqrt{n p_0 (1 - p_0)}`.
    """

    requests_needed: int
    detection_time_s: float
    extra_errors: float
    error_threshold: float

    @property
    def max_deploys_per_day(self) -> float:
        """Releases a day if each must finish its bake time before the next starts, :math:`86\\,400/t`."""
        return 86_400.0 / self.detection_time_s if self.detection_time_s > 0 else math.inf


def canary_detection(arrival_rate: float, error_ratio: float, *, bad_error_ratio: float = 0.01,
                     canary_fraction: float = 0.01, confidence: float = 0.99,
                     power: float = 0.9) -> CanaryDetection:
    """Requests, bake time and exposure of a canary that detects a rise in the error ratio.

    The canary receives a fraction :math:`f` of the :math:`\\Lambda` requests
    per second.  A good release fails :math:`p_0` of them, a bad one
    :math:`p_1 > p_0`.  A one-sided test at false-alarm rate :math:`\\alpha =
    1 -` ``confidence`` that catches a bad release with probability
    ``power`` :math:`= 1 - \\beta` needs (normal approximation to the binomial)

    .. math:: n = \\left(\\frac{z_{1-\\alpha}\\sqrt{p_0(1-p_0)} + z_{1-\\beta}\\sqrt{p_1(1-p_1)}}
                               {p_1 - p_0}\\right)^2, \\qquad t = \\frac{n}{f\\Lambda}.

    The bad release fails :math:`n(p_1 - p_0)` extra requests before the
    verdict whatever the canary's size: a smaller canary exposes fewer users
    at a time but takes proportionally longer, which caps how often releases
    can go out one after another.

    Parameters
    ----------
    arrival_rate : float
        :math:`\\Lambda > 0`, requests per second, at most 10^12.
    error_ratio : float
        :math:`p_0` in [0, 1), the good release's failed fraction.
    bad_error_ratio : float
        :math:`p_1` in (p_0, 1].
    canary_fraction : float
        :math:`f` in (0, 1].
    confidence, power : float
        :math:`1 - \\alpha` and :math:`1 - \\beta` in (0.5, 1).

    References
    ----------
    J. L. Fleiss, B. Levin and M. C. Paik, *Statistical Methods for Rates and
    Proportions*, 3rd ed., Wiley, 2003, ch. 2 (sample size for one proportion);
    Beyer et al. (2018), ch. 16 (canarying releases).
    """
    from scipy import stats

    lam = check_in_range(arrival_rate, "arrival_rate", 0.0, 1e12, low_open=True, scalar=True)
    p0 = check_in_range(error_ratio, "error_ratio", 0.0, 1.0, high_open=True, scalar=True)
    p1 = check_in_range(bad_error_ratio, "bad_error_ratio", float(p0), 1.0, low_open=True, scalar=True)
    f = check_in_range(canary_fraction, "canary_fraction", 0.0, 1.0, low_open=True, scalar=True)
    conf = check_in_range(confidence, "confidence", 0.5, 1.0, low_open=True, high_open=True, scalar=True)
    pw = check_in_range(power, "power", 0.5, 1.0, low_open=True, high_open=True, scalar=True)
    p0, p1 = float(p0), float(p1)
    za, zb = float(stats.norm.ppf(float(conf))), float(stats.norm.ppf(float(pw)))
    n = math.ceil(((za * math.sqrt(p0 * (1 - p0)) + zb * math.sqrt(p1 * (1 - p1))) / (p1 - p0)) ** 2)
    n = max(n, 1)
    threshold = float(n * p0 + za * math.sqrt(n * p0 * (1 - p0)))
    rate = float(f) * float(lam)  # canary requests per second; 0 below the float range: an infinite time
    return CanaryDetection(n, n / rate if rate > 0 else math.inf, n * (p1 - p0), threshold)
