"""The project's shared argument checks, plus the one the lab adds (a choice among names)."""

from __future__ import annotations

from ..core.validation import check_in_range, check_integer, check_nonnegative, check_popularity, check_positive

__all__ = ["check_choice", "check_in_range", "check_integer", "check_nonnegative", "check_popularity", "check_positive"]


def check_choice(value, name: str, allowed) -> str:
    """Return ``value`` if it is one of ``allowed``, else a ValueError naming ``name`` and the choices."""
    if value not in tuple(allowed):
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value
