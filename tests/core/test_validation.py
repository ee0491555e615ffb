import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from scaling_lab.core.validation import (MAX_COUNT, check_finite, check_in_range, check_integer, check_nonnegative,
                                         check_open_probability, check_positive, check_probability)


def test_messages_name_parameter_and_range():
    with pytest.raises(ValueError, match=r"rate must be in \(0, inf\)"):
        check_positive(-1, "rate")
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        check_probability(1.5, "p")
    with pytest.raises(ValueError, match=r"q must be in \(0, 1\)"):
        check_open_probability(1.0, "q")
    with pytest.raises(ValueError, match=r"x must be in \[2, 5\)"):
        check_in_range(5, "x", 2, 5, high_open=True)
    with pytest.raises(ValueError, match=r"servers must be an integer in \[1, 10\^9\], got 0"):
        check_integer(0, "servers", maximum=MAX_COUNT)
    with pytest.raises(ValueError, match="t must be a number"):
        check_nonnegative("abc", "t")
    with pytest.raises(ValueError, match="t must be a number, got NaN"):
        check_nonnegative(float("nan"), "t")


def test_values_pass_through():
    assert check_positive(2, "x") == 2.0
    assert check_integer(np.int64(3), "n") == 3
    assert check_integer(4.0, "n") == 4
    assert list(check_integer([1, 2], "n")) == [1, 2]
    assert np.allclose(check_probability([0, 0.5, 1], "p"), [0, 0.5, 1])
    assert check_finite(-3.5, "x") == -3.5
    assert check_positive(math.inf, "x", allow_inf=True) == math.inf
    with pytest.raises(ValueError, match="n must be an integer"):
        check_integer(True, "n")
    with pytest.raises(ValueError, match=r"n must be an integer .*got 2\.5 \(element 1 of an array of shape \(2,\)\)"):
        check_integer([1, 2.5], "n")


def test_integers_have_an_upper_bound_and_never_wrap():
    for huge in (1e308, 2**63, 10**400, MAX_COUNT + 1):
        with pytest.raises(ValueError, match=r"servers must be an integer in \[1, 10\^9\]"):
            check_integer(huge, "servers", maximum=MAX_COUNT)
    with pytest.raises(ValueError, match=r"servers must be an integer in \[1, 10\^9\]"):
        check_integer(np.array([1.0, 2**63]), "servers", maximum=MAX_COUNT)
    assert check_integer(MAX_COUNT, "servers", maximum=MAX_COUNT) == MAX_COUNT


@pytest.mark.parametrize("bad", ["1", b"1", None, True, np.bool_(False), 1j, object(), [1, "a"], [[1, 2], [3]],
                                 np.array(["1.0"]), np.array([True]), [True, 2.0], (3, False), [[1.0], [np.bool_(True)]]])
def test_wrong_types_are_rejected_by_name(bad):
    for check in (check_positive, check_nonnegative, check_probability, check_finite, check_integer):
        with pytest.raises(ValueError, match="^x must be"):
            check(bad, "x")


def test_scalar_parameters_reject_arrays_of_any_size_and_empty_arrays_need_consent():
    for value in ([], [1.0], np.ones((1, 1)), [1.0, 2.0]):
        with pytest.raises(ValueError, match="x must be a single number"):
            check_positive(value, "x", scalar=True)
    with pytest.raises(ValueError, match="x must hold at least one value"):
        check_positive([], "x")
    assert check_positive([], "x", allow_empty=True).shape == (0,)


def test_array_messages_show_one_element_not_the_array():
    with pytest.raises(ValueError) as info:
        check_positive(np.r_[np.ones(79), 0.0], "arrival_rate")
    assert str(info.value) == "arrival_rate must be in (0, inf), got 0.0 (element 79 of an array of shape (80,))"


finite = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4), elements=finite))
def test_every_helper_returns_valid_values_or_names_the_parameter(arr):
    """Any float array either passes (and every value is in the stated range) or raises naming the parameter."""
    checks = [(check_positive, lambda a: (a > 0) & np.isfinite(a)),
              (check_nonnegative, lambda a: (a >= 0) & np.isfinite(a)),
              (check_probability, lambda a: (a >= 0) & (a <= 1)),
              (check_open_probability, lambda a: (a > 0) & (a < 1)),
              (check_finite, np.isfinite),
              (lambda v, n: check_integer(v, n, maximum=MAX_COUNT, minimum=0),
               lambda a: np.isfinite(a) & (a == np.round(a)) & (a >= 0) & (a <= MAX_COUNT))]
    for check, valid in checks:
        ok = arr.size > 0 and not np.isnan(arr).any() and bool(np.all(valid(arr)))
        if ok:
            out = np.asarray(check(arr, "param"))
            assert out.shape == arr.shape and np.array_equal(out, arr)
        else:
            with pytest.raises(ValueError, match="^param must "):
                check(arr, "param")


def test_check_invertible_keeps_the_reciprocal_inside_the_float_range():
    import warnings

    from scaling_lab.core.validation import MIN_INVERTIBLE, check_invertible

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(1.0 / MIN_INVERTIBLE)
    with np.errstate(over="ignore"):
        assert np.isinf(1.0 / np.nextafter(MIN_INVERTIBLE, 0.0))  # the least such number
    assert check_invertible(MIN_INVERTIBLE, "rate") == MIN_INVERTIBLE
    assert check_invertible(1e308, "rate") == 1e308
    for bad in (5e-324, 0.0, -1.0, np.inf, np.nan, "1", True):
        with pytest.raises(ValueError, match="^rate must "):
            check_invertible(bad, "rate")
    with pytest.raises(ValueError, match="finite reciprocal"):
        check_invertible([1.0, 1e-310], "rate")


def test_check_fields_checks_each_field_in_order_and_stores_the_checked_value():
    from dataclasses import dataclass
    from functools import partial

    from scaling_lab.core.validation import check_fields

    @dataclass(frozen=True)
    class Pool:
        rate: object
        servers: object
        delay_s: object = 0

        def __post_init__(self):
            check_fields(self, scalar=True, rate=check_positive,
                         servers=partial(check_integer, minimum=1, maximum=MAX_COUNT), delay_s=check_nonnegative)

    pool = Pool(np.int64(2), 3.0)
    assert (pool.rate, pool.servers, pool.delay_s) == (2.0, 3, 0.0)
    assert type(pool.servers) is int
    with pytest.raises(ValueError, match=r"^rate must be in \(0, inf\), got -1"):
        Pool(-1, 0)  # the first field fails first
    with pytest.raises(ValueError, match=r"^servers must be an integer in \[1, 10\^9\], got 0"):
        Pool(1, 0, -1)
    with pytest.raises(ValueError, match=r"^delay_s must be a single number"):
        Pool(1, 1, [0.5])  # scalar=True reaches every check

    @dataclass(frozen=True)
    class Tier:
        rates: object

        def __post_init__(self):
            check_fields(self, prefix="web.", rates=check_positive)

    assert list(Tier([1, 2]).rates) == [1.0, 2.0]  # arrays pass unless scalar=True
    with pytest.raises(ValueError, match=r"^web\.rates must be in \(0, inf\)"):
        Tier([1, 0])


def test_check_popularity_normalizes_weights_and_refuses_all_zero():
    from scaling_lab.core.validation import check_popularity

    assert check_popularity([[1.0, 3.0]]).tolist() == [0.25, 0.75]
    big = check_popularity([1e308, 1e308, 0.0])  # a sum past the float range: the same proportions
    assert big.tolist() == [0.5, 0.5, 0.0]
    for bad, match in (([0.0, 0.0], "^popularity must contain at least one positive value"),
                       ([1.0, -1.0], "^weights must be in"), ([], "^weights must hold")):
        with pytest.raises(ValueError, match=match):
            check_popularity(bad, "weights" if match.startswith("^weights") else "popularity")
