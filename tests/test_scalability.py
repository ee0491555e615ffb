"""Amdahl and the Universal Scalability Law: identities, recovery of known coefficients, the published fit."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab.scalability import amdahl_speedup, fit_usl, usl_peak_concurrency, usl_throughput

DATA = Path(__file__).resolve().parents[1] / "data" / "specsdm91.csv"


def test_amdahl_limits():
    assert amdahl_speedup(1, 0.3) == pytest.approx(1.0)
    assert amdahl_speedup(1e12, 0.05) == pytest.approx(20.0, rel=1e-9)
    assert amdahl_speedup(8, 0.0) == pytest.approx(8.0)
    assert amdahl_speedup(16, 1.0) == pytest.approx(1.0)
    np.testing.assert_allclose(amdahl_speedup(np.array([2.0, 4.0]), 0.5), [4 / 3, 1.6])


@settings(max_examples=100, deadline=None)
@given(n=st.floats(1.0, 1e6), sigma=st.floats(0.0, 1.0), lam=st.floats(1e-3, 1e6))
def test_usl_without_coherency_is_amdahl(n, sigma, lam):
    assert usl_throughput(n, sigma, 0.0, lam) == pytest.approx(lam * amdahl_speedup(n, sigma), rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(sigma=st.floats(0.0, 0.9), kappa=st.floats(1e-7, 1e-1))
def test_peak_is_the_maximum(sigma, kappa):
    peak = usl_peak_concurrency(sigma, kappa)
    x_peak = usl_throughput(peak, sigma, kappa, 1.0)
    for f in (0.9, 1.1):
        assert usl_throughput(peak * f, sigma, kappa, 1.0) <= x_peak * (1 + 1e-12)


@pytest.mark.parametrize("sigma,kappa,lam", [(0.05, 2e-4, 100.0), (0.2, 0.0, 3.0), (0.001, 1e-4, 5e4)])
def test_fit_recovers_known_coefficients(sigma, kappa, lam):
    rng = np.random.default_rng(31)
    n = np.array([1, 2, 4, 8, 16, 32, 48, 64, 96, 128], dtype=float)
    x = usl_throughput(n, sigma, kappa, lam) * (1 + 0.002 * rng.standard_normal(n.size))
    fit = fit_usl(n, x)
    assert fit.sigma == pytest.approx(sigma, rel=0.1, abs=2e-4)
    # with n <= 128 and 0.2 % noise, kappa below ~1e-5 changes X by less than the noise
    assert fit.kappa == pytest.approx(kappa, rel=0.1, abs=1e-5)
    assert fit.base_throughput == pytest.approx(lam, rel=0.01)
    assert fit.r_squared > 0.999


def test_fit_without_noise_is_exact():
    n = np.arange(1, 40, dtype=float)
    fit = fit_usl(n, usl_throughput(n, 0.03, 4e-4, 12.0))
    assert (fit.sigma, fit.kappa, fit.base_throughput) == pytest.approx((0.03, 4e-4, 12.0), rel=1e-6)
    assert fit.peak_concurrency == pytest.approx(np.sqrt(0.97 / 4e-4), rel=1e-6)


def test_published_fit_of_specsdm91():
    # usl R package (Moding), summary(usl(throughput ~ load, specsdm91)):
    # sigma 0.0277285, kappa 0.0001044, gamma 89.9952330; residuals -25.10 -81.66 111.09 3.05 -49.99 -46.60 56.00
    data = pd.read_csv(DATA)
    assert list(data.columns) == ["load", "throughput"]
    fit = fit_usl(data["load"], data["throughput"])
    assert fit.sigma == pytest.approx(0.0277285, rel=1e-4)
    assert fit.kappa == pytest.approx(0.0001044, rel=1e-3)
    assert fit.base_throughput == pytest.approx(89.9952330, rel=1e-5)
    np.testing.assert_allclose(fit.residuals, [-25.10, -81.66, 111.09, 3.05, -49.99, -46.60, 56.00], atol=0.006)
    assert fit.peak_concurrency == pytest.approx(96.5, abs=0.1)
    assert fit.peak_throughput == pytest.approx(1884, abs=1)
    assert fit.predict(fit.peak_concurrency) > data["throughput"].max()


def test_fit_is_unit_free():
    data = pd.read_csv(DATA)
    a = fit_usl(data["load"], data["throughput"])
    b = fit_usl(data["load"], data["throughput"] / 3600.0)  # per second instead of per hour
    assert (b.sigma, b.kappa, b.base_throughput * 3600) == pytest.approx((a.sigma, a.kappa, a.base_throughput), rel=1e-6)


@pytest.mark.parametrize("call, match", [
    (lambda: amdahl_speedup(0, 0.1), 'workers'),
    (lambda: amdahl_speedup(4, 1.5), 'serial_fraction'),
    (lambda: usl_throughput(4, -0.1, 0.0, 1.0), 'sigma'),
    (lambda: usl_throughput(4, 0.1, -1e-3, 1.0), 'kappa'),
    (lambda: usl_throughput(4, 0.1, 0.0, 0.0), 'base_throughput'),
    (lambda: fit_usl([1, 2, 3], [1, 2]), 'throughput'),
    (lambda: fit_usl([1, 1, 2, 2], [1, 1, 2, 2]), 'concurrency'),
    (lambda: fit_usl([1, 2, 3], [1, -2, 3]), 'throughput'),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_usl_throughput_past_the_float_range_takes_its_limits():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert usl_throughput(1e308, 0.05, 0.001, 100.0) == pytest.approx(100.0 / (0.001 * 1e308))
        assert usl_throughput(16, 0.05, 1e308, 100.0) == 0.0
    with pytest.raises(ValueError, match="sigma"):
        usl_throughput([1.0, 2.0, 4.0], [0.1, 0.2], 0.001, 100.0)


def test_fit_with_a_concurrency_near_the_float_range_has_no_warning_or_nan():
    import warnings

    n = np.array([1.0, 2, 4, 8, 1e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_usl(n, np.array([100.0, 190, 340, 520, 640]))
    assert np.isfinite([fit.sigma, fit.kappa, fit.base_throughput, fit.r_squared]).all()


def test_amdahl_takes_fractional_workers_for_plotting():
    assert amdahl_speedup(2.5, 0.0) == 2.5  # documented: a curve over real n, not only whole workers


def test_peak_concurrency_with_kappa_below_the_float_range_is_inf_without_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert usl_peak_concurrency(0.05, 5e-324) == np.inf


def test_fit_refuses_a_concurrency_whose_per_worker_rate_leaves_the_float_range():
    with pytest.raises(ValueError, match="concurrency"):
        fit_usl([5e-324, 2.0, 4.0, 8.0], [100.0, 190.0, 340.0, 520.0])
