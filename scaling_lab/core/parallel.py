"""Replications and sweeps on every core, or on a cluster, through joblib.

:func:`parallel_map` is the one place where ``scaling_lab`` runs
independent tasks at once (simulation replications, planner sweeps).  It uses
joblib, so the same call runs serially, on local processes, or on a Dask
cluster::

    from dask.distributed import Client, LocalCluster
    import joblib
    with Client(LocalCluster()), joblib.parallel_config(backend="dask"):
        results = sl.parallel_map(task, items)

Each task gets its own seed from :class:`numpy.random.SeedSequence`, so the
results are the same whatever the backend and the number of workers.

References
----------
joblib documentation, *Embarrassingly parallel for loops*;
numpy documentation, *Parallel random number generation*.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import joblib
import numpy as np

__all__ = ["parallel_map", "spawn_seeds"]


def spawn_seeds(seed: int | None, n: int) -> list[int]:
    """``n`` independent integer seeds derived from ``seed`` (``numpy.random.SeedSequence.spawn``)."""
    if n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n)]


def parallel_map(func: Callable[..., Any], items: Iterable[Any], *, seed: int | None = None,
                 n_jobs: int | None = None) -> list[Any]:
    """``[func(item) for item in items]``, run by joblib; with ``seed``, ``func(item, seed=s_i)``.

    Parameters
    ----------
    func : callable
        A picklable function of one item (and of ``seed=`` when ``seed`` is given).
    items : iterable
        The task inputs, in order; results come back in the same order (empty in, empty out).
        They are passed to ``func`` as they are: checking them is ``func``'s work.
    seed : int or None
        If given, task ``i`` is called with its own seed from
        ``SeedSequence(seed).spawn(len(items))[i]``: reproducible whatever the
        backend or ``n_jobs``.
    n_jobs : int or None
        Workers for joblib; ``None`` keeps joblib's default (serial, unless
        inside ``joblib.parallel_config``, e.g. ``backend="dask"``).
    """
    if not callable(func):
        raise ValueError(f"func must be callable, got {func!r}")
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"items must be an iterable of task inputs, got {items!r}") from None
    if seed is None:
        calls = (joblib.delayed(func)(item) for item in items)
    else:
        calls = (joblib.delayed(func)(item, seed=s) for item, s in zip(items, spawn_seeds(seed, len(items))))
    return joblib.Parallel(n_jobs=n_jobs)(calls)
