import numpy as np
import pytest
from scipy import stats

from scaling_lab.core.statistics import batch_means_ci


def test_batch_means_ci_is_the_student_t_interval_of_the_batch_means():
    x = np.random.default_rng(1).exponential(1.0, 10_000)
    size = len(x) // 30
    means = x[: size * 30].reshape(30, size).mean(axis=1)
    mean, half = batch_means_ci(x, 30, 0.9)
    assert mean == x.mean()
    assert half == pytest.approx(stats.t.ppf(0.95, 29) * means.std(ddof=1) / np.sqrt(30), rel=1e-15)


def test_batch_means_ci_near_the_top_of_the_float_range_is_finite():
    mean, half = batch_means_ci(np.full(100, 1e308) * np.linspace(0.5, 1.0, 100), 10)
    assert np.isfinite(mean) and np.isfinite(half) and half > 0


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1, np.nan, [0.9, 0.95]])
def test_batch_means_ci_rejects_a_confidence_outside_0_1(confidence):
    with pytest.raises(ValueError, match="confidence"):
        batch_means_ci(np.arange(100.0), 10, confidence)


def test_batch_means_ci_rejects_non_finite_samples():
    with pytest.raises(ValueError, match="samples"):
        batch_means_ci(np.array([1.0, np.inf] * 50), 10)
