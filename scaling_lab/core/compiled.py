"""The optional numba shim: ``njit`` compiles a kernel when numba is installed, else leaves it as Python.

Every kernel in :mod:`scaling_lab` is valid plain Python, so the package works
(about a hundred times slower in the inner loops) without numba.
"""

from __future__ import annotations

__all__ = ["HAVE_NUMBA", "njit"]

try:
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False

    def njit(*args, **kwargs):
        """Stand-in for :func:`numba.njit` that returns the function unchanged."""
        if args and callable(args[0]):
            return args[0]
        return lambda f: f
