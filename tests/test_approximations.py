"""Allen–Cunneen for G/G/c: exact where it must be (M/M/c, M/G/1), and its overload and variability behaviour."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab.approximations import MGc
from scaling_lab.queueing import MG1, MMc

rates = st.floats(0.01, 100.0)
loads = st.floats(0.01, 0.99)


@settings(max_examples=100, deadline=None)
@given(mu=rates, rho=loads, c=st.integers(1, 200))
def test_allen_cunneen_is_exact_for_mmc(mu, rho, c):
    lam = rho * c * mu
    assert MGc(lam, mu, c).mean_wait == pytest.approx(MMc(lam, mu, c).mean_wait, rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(mu=rates, rho=loads, scv=st.floats(0.0, 50.0))
def test_allen_cunneen_with_one_server_is_pollaczek_khinchine(mu, rho, scv):
    assert MGc(rho * mu, mu, 1, scv=scv).mean_wait == pytest.approx(MG1(rho * mu, mu, scv).mean_wait, rel=1e-9)


def test_allen_cunneen_overload_and_arrival_variability():
    assert np.isinf(MGc(10.0, 1.0, 8, scv=2.0).mean_wait)
    assert not MGc(10.0, 1.0, 8).stable
    base = MGc(6.0, 1.0, 8).mean_wait
    assert MGc(6.0, 1.0, 8, arrival_scv=3.0).mean_wait == pytest.approx(2 * base)


@pytest.mark.parametrize("call, name", [
    (lambda: MGc(1.0, 1.0, 0), "servers"),
    (lambda: MGc(1.0, 1.0, 2, arrival_scv=-1.0), "arrival_scv"),
])
def test_bad_input_raises(call, name):
    with pytest.raises(ValueError, match=name):
        call()
