"""Error budgets, burn-rate alerts and telemetry volume: published values and identities."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling_lab.observability import (budget_exhaustion_time, burn_rate, burn_rate_threshold, error_budget,
                                       metric_bytes_per_day, sampled_log_bytes_per_day)
from scaling_lab.tails import daily_volume_bytes

MONTH_MIN = 30 * 24 * 60


def test_error_budget_published_values():
    # SRE book: 99.9 % over 30 days allows 43.2 minutes
    assert error_budget(0.999, MONTH_MIN) == pytest.approx(43.2)
    assert error_budget(0.9999, 1e6) == pytest.approx(100.0)


@pytest.mark.parametrize("fraction, window_h, expected", [(0.02, 1, 14.4), (0.05, 6, 6.0), (0.10, 72, 1.0)])
def test_burn_rate_thresholds_of_the_sre_workbook(fraction, window_h, expected):
    assert burn_rate_threshold(fraction, window_h, 30 * 24) == pytest.approx(expected)


@given(e=st.floats(1e-6, 1.0), s=st.floats(0.5, 0.99999), w=st.floats(1.0, 1e6))
def test_a_constant_error_ratio_spends_exactly_one_budget_by_exhaustion(e, s, w):
    t = budget_exhaustion_time(e, s, w)
    assert e * t == pytest.approx(error_budget(s, w), rel=1e-9)
    assert burn_rate(e, s) * t == pytest.approx(w, rel=1e-9)


def test_no_errors_never_exhaust_the_budget():
    assert budget_exhaustion_time(0.0, 0.999, 30.0) == np.inf
    np.testing.assert_allclose(budget_exhaustion_time([0.0, 0.002], 0.999, 30.0), [np.inf, 15.0])


def test_sampled_logs_reduce_to_the_unsampled_volume():
    assert sampled_log_bytes_per_day(10_000, 500) == daily_volume_bytes(10_000, 500) == pytest.approx(432e9)
    assert sampled_log_bytes_per_day(10_000, 500, 0.01) == pytest.approx(4.32e9)


def test_metric_volume_counts_samples():
    # one series scraped every 15 s: 5760 samples a day
    assert metric_bytes_per_day(1, 15, 1.0) == pytest.approx(5760.0)
    assert metric_bytes_per_day(1000, 10) == pytest.approx(1000 * 8640 * 1.37)


@pytest.mark.parametrize("call, name", [
    (lambda: error_budget(1.0, 10), "slo"), (lambda: burn_rate(1.5, 0.9), "error_ratio"),
    (lambda: burn_rate_threshold(0.0, 1, 720), "budget_fraction"),
    (lambda: sampled_log_bytes_per_day(10, 100, 2.0), "sample_rate"),
    (lambda: metric_bytes_per_day(10, 0), "scrape_interval_s"), (lambda: budget_exhaustion_time(0.1, 0.9, 0), "window")])
def test_bad_input_raises(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_canary_detection_power_and_false_alarms_by_simulation():
    from scaling_lab.observability import canary_detection

    c = canary_detection(1000.0, 0.001, bad_error_ratio=0.003, canary_fraction=0.05,
                         confidence=0.99, power=0.9)
    assert c.detection_time_s == pytest.approx(c.requests_needed / 50.0)
    assert c.extra_errors == pytest.approx(c.requests_needed * 0.002)
    rng = np.random.default_rng(4)
    bad = rng.binomial(c.requests_needed, 0.003, 100_000) > c.error_threshold
    good = rng.binomial(c.requests_needed, 0.001, 100_000) > c.error_threshold
    assert bad.mean() == pytest.approx(0.9, abs=0.03)     # normal approximation to the binomial
    assert good.mean() < 0.02
    # the exposure does not depend on the canary's size; the bake time does, inversely
    big = canary_detection(1000.0, 0.001, bad_error_ratio=0.003, canary_fraction=0.5)
    assert big.extra_errors == c.extra_errors
    assert big.detection_time_s == pytest.approx(c.detection_time_s / 10)
    with pytest.raises(ValueError, match="bad_error_ratio"):
        canary_detection(1000.0, 0.01, bad_error_ratio=0.005)


def test_metric_bytes_finite_when_only_an_intermediate_step_overflows():
    import warnings
    from scaling_lab.observability import metric_bytes_per_day
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # n * 86400 overflows, n * 86400 / interval does not: the exact product, not inf
        assert metric_bytes_per_day(1e308, 1e10, 1.0) == pytest.approx(8.64e302, rel=1e-12)
        assert metric_bytes_per_day(1e308, 1.0, 1.0) == np.inf
        assert metric_bytes_per_day(0.0, 1e-308, 1.0) == 0.0
        assert daily_volume_bytes(1e308, 10.0) == np.inf


def test_rates_below_the_float_range_give_infinite_times_without_warning():
    import warnings

    from scaling_lab.observability import canary_detection

    tiny = 5e-324  # the smallest positive float: its reciprocal is past the float range
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert budget_exhaustion_time(tiny, 0.999, 30.0) == np.inf
        assert burn_rate_threshold(0.02, tiny, 720.0) == np.inf
        assert canary_detection(tiny, 0.002).detection_time_s == np.inf
