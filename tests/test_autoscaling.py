"""Autoscaling lag and headroom against a step-by-step autoscaler on a ramping load."""

import numpy as np
import pytest

from scaling_lab.autoscaling import scale_out_lag, scale_out_target
from scaling_lab.healthcheck import detection_time


def _load_when_servers_arrive(trigger, ramp, interval_s, k, boot_s, phase):
    """Instantaneous samples every interval_s (first at phase * interval_s); k samples above
    the trigger in a row request servers, which serve boot_s later.  Load at that moment."""
    t_cross = 0.0  # the load ramp * t + trigger crosses the trigger at t = 0
    samples = phase * interval_s + interval_s * np.arange(k + 2)
    above = samples[samples > t_cross][:k]
    return trigger + ramp * (above[-1] + boot_s)


def test_scale_out_lag_has_the_health_check_structure():
    lag = scale_out_lag(60.0, 3, 120.0)
    d = detection_time(60.0, 3, 0.0)
    assert (lag.mean, lag.minimum, lag.maximum) == (d.mean + 120, d.minimum + 120, d.maximum + 120)
    assert (lag.minimum, lag.mean, lag.maximum) == (240.0, 270.0, 300.0)


def test_trigger_holds_the_slo_for_every_phase_and_is_tight():
    slo, ramp, interval, k, boot = 700.0, 100 / 60, 60.0, 3, 120.0
    target = scale_out_target(slo, ramp, scale_out_lag(interval, k, boot).maximum)
    phases = np.linspace(1e-6, 1.0, 1001)
    peaks = np.array([_load_when_servers_arrive(target.trigger_rate, ramp, interval, k, boot, u) for u in phases])
    assert peaks.max() <= slo + 1e-9
    assert peaks.max() == pytest.approx(slo, abs=ramp * interval / 500)  # the worst phase reaches it
    # mean lag: the load at arrival averages trigger + ramp * E[L]
    mean_lag = scale_out_lag(interval, k, boot).mean
    assert peaks.mean() == pytest.approx(target.trigger_rate + ramp * mean_lag, rel=1e-3)


def test_too_fast_a_ramp_is_infeasible_not_an_error():
    t = scale_out_target(100.0, 1.0, 300.0)
    assert not t.feasible and t.trigger_rate == 0.0 and t.target_fraction == 0.0
    assert scale_out_target(100.0, 0.0, 300.0).target_fraction == 1.0
    with pytest.raises(ValueError, match="slo_rate"):
        scale_out_target(0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="breaching_periods"):
        scale_out_lag(60.0, 0, 1.0)
