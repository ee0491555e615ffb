"""Scalar in, scalar out; array in, array out.

Every vectorised function of :mod:`scaling_lab` returns a Python number when
called with scalars and a numpy array when called with arrays; this is the one
place that decides which.
"""

from __future__ import annotations

import numpy as np

__all__ = ["scalar_or_array"]


def scalar_or_array(x, kind: type = float):
    """``kind(x)`` if ``x`` is zero-dimensional (a number or a 0-d array), else ``x`` as an array.

    With ``kind=float`` an array result is float too; ``int`` and ``bool``
    results keep the array's own dtype.
    """
    x = np.asarray(x, dtype=float) if kind is float else np.asarray(x)
    return kind(x) if x.ndim == 0 else x
