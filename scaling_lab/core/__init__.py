"""The base layer every other part of :mod:`scaling_lab` builds on.

``validation`` (argument checks), ``arrays`` (scalar-or-array results),
``compiled`` (the optional numba shim), ``statistics`` (confidence intervals)
and ``parallel`` (replications and sweeps through joblib).  Nothing here
imports a model, the simulator or the presentation layer.
"""
