import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling_lab.traffic import SECONDS_PER_DAY, daily_users_supported, peak_request_rate


def test_worked_example():
    # 100,000 users x 30 requests a day = 34.7 req/s on average; x3 at the peak.
    assert peak_request_rate(100_000, 30, 1.0) == pytest.approx(3_000_000 / 86_400)
    assert peak_request_rate(100_000, 30, 3.0) == pytest.approx(104.1666, rel=1e-5)


@given(st.floats(0, 1e9), st.floats(0.01, 1e4), st.floats(1, 20))
def test_inverse(users, per_user, peak):
    rate = peak_request_rate(users, per_user, peak)
    assert daily_users_supported(rate, per_user, peak) == pytest.approx(users, rel=1e-12, abs=1e-9)


def test_vectorized():
    users = np.array([1e3, 1e6])
    assert np.allclose(peak_request_rate(users, 10, 2), users * 10 * 2 / SECONDS_PER_DAY)


@pytest.mark.parametrize("args,name", [((-1, 10, 2), "daily_users"), ((10, 0, 2), "requests_per_user_per_day"),
                                       ((10, 10, 0.5), "peak_to_average")])
def test_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        peak_request_rate(*args)
