"""Scalar-or-array results and sums near the top of the float range."""

import warnings

import numpy as np
import pytest

from scaling_lab.core.arrays import proportions


def test_proportions_are_plain_division_inside_the_float_range():
    w = np.array([3.0, 1.0, 0.0, 7.5])
    assert np.array_equal(proportions(w), w / w.sum())  # bit for bit


def test_proportions_of_weights_whose_sum_passes_the_float_range():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = proportions(np.array([1e308, 1e308, 5e307, 0.0]))
    np.testing.assert_allclose(p, [0.4, 0.4, 0.2, 0.0], rtol=1e-15)
    assert p.sum() == pytest.approx(1.0)
