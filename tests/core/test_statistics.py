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


def test_quantile_ci_covers_the_exact_quantile_of_iid_samples():
    # 200 intervals, each from 10 replications of 2,000 exponential samples: the exact p99 is ln 100.
    # At 95 % confidence the count inside is Binomial(200, 0.95): 190 +- 3.1, so [182, 198] is +-2.6 sd.
    from scaling_lab.core.statistics import quantile_ci

    rng = np.random.default_rng(1)
    inside = sum(abs(est - np.log(100)) <= half
                 for est, half in (quantile_ci([rng.exponential(1.0, 2000) for _ in range(10)], 0.99)
                                   for _ in range(200)))
    assert 182 <= inside <= 198


def test_quantile_ci_covers_the_exact_mmc_response_quantile():
    # M/M/8 at 80 % load: 50 intervals from 8 independent 30,000-request runs each; the exact p99 from
    # the M/M/c response-time law.  Measured: 48 of 50 inside; 30 batches of one
    # 200,000-request run (sectioning) covered it in 77 of 100 runs, and in 54 of 100 at 90 % load.
    import scaling_lab as sl
    from scaling_lab.core.statistics import quantile_ci

    mu, c = 25.0, 8
    lam = 0.8 * c * mu
    exact = float(sl.MMc(lam, mu, c).response_quantile(0.99))
    inside = 0
    for k in range(50):
        runs = [sl.simulate_queue(lam, mu, c, n_requests=30_000, seed=100 * k + r).responses for r in range(8)]
        est, half = quantile_ci(runs, 0.99)
        inside += abs(est - exact) <= half
    assert inside >= 43  # Binomial(50, 0.95): 47.5 +- 1.5


def test_quantile_ci_rejects_too_few_runs_or_values():
    from scaling_lab.core.statistics import quantile_ci

    with pytest.raises(ValueError, match="replications"):
        quantile_ci([np.arange(1000.0)], 0.99)
    with pytest.raises(ValueError, match="replications"):
        quantile_ci([np.arange(100.0)] * 5, 0.99)  # 1 value above the p99 of each run
    with pytest.raises(ValueError, match="q"):
        quantile_ci([np.arange(1000.0)] * 5, 1.0)
    with pytest.raises(ValueError, match="replications"):
        quantile_ci([np.array([1.0, np.nan] * 500)] * 3, 0.5)
