import numpy as np
import pytest

from scaling_lab.core.validation import (check_in_range, check_integer, check_nonnegative, check_open_probability,
                                     check_positive, check_probability)


def test_messages_name_parameter_and_range():
    with pytest.raises(ValueError, match=r"rate must be in \(0, inf\)"):
        check_positive(-1, "rate")
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        check_probability(1.5, "p")
    with pytest.raises(ValueError, match=r"q must be in \(0, 1\)"):
        check_open_probability(1.0, "q")
    with pytest.raises(ValueError, match=r"x must be in \[2, 5\)"):
        check_in_range(5, "x", 2, 5, high_open=True)
    with pytest.raises(ValueError, match="servers must be an integer >= 1"):
        check_integer(0, "servers")
    with pytest.raises(ValueError, match="must be a number"):
        check_nonnegative("abc", "t")
    with pytest.raises(ValueError, match="NaN"):
        check_nonnegative(float("nan"), "t")


def test_values_pass_through():
    assert check_positive(2, "x") == 2.0
    assert check_integer(np.int64(3), "n") == 3
    assert check_integer(4.0, "n") == 4
    assert list(check_integer([1, 2], "n")) == [1, 2]
    assert np.allclose(check_probability([0, 0.5, 1], "p"), [0, 0.5, 1])
    with pytest.raises(ValueError):
        check_integer(True, "n")
    with pytest.raises(ValueError):
        check_integer([1, 2.5], "n")
