"""Bad and extreme input across the whole public API, found by introspection of ``sl.__all__``.

Every public callable (functions, the constructors of input classes, and the
public methods of every public class, results included) is called once with
valid arguments (the baseline: signature defaults, then the vocabulary of
CONTRIBUTING.md in ``VOCAB``, then the few per-callable ``EXAMPLES``), then once
for every numeric parameter and every bad value of ``_bad_values``: NaN, ±inf,
negative, huge (1e308, the largest float, and every element of an array), tiny
(5e-324, the least positive float, whose reciprocal is past the float range;
1e-300; every element, or one), all zeros, the largest int64 plus one, empty,
wrong shape, a string, a complex, ``None``, ``True`` and an arbitrary object.  Each call must, within a
second of CPU time (``CPU_LIMIT_S``; the baseline, which runs first in its
process and may compile kernels, ``BASELINE_CPU_LIMIT_S``) and without a warning, either

* raise ``ValueError`` or ``TypeError`` whose message names the parameter, or
* return a sane result: nothing NaN anywhere (results are walked through
  their fields, public properties, tuples, dicts and frames), every
  probability-like value (``prob_*``, ``*hit_ratio*``, ``*availability``,
  ``*fraction``, ``*share*``, Erlang B/C) in [0, 1], every integer count >= -1 (the "none" of a first reference),
  and the properties of a returned object readable.

Some values must always be rejected: NaN, strings, complex numbers, ``None``
(where ``None`` is not the default), booleans, arbitrary objects, an array for
a parameter annotated as a scalar (``float`` or ``int``), and an empty array
unless the result is empty too (empty in, empty out).

A new public function is covered automatically: the test of its baseline fails
until its parameters have valid values here.  Each callable's calls run in a
forked child so that a hang is killed and reported instead of stopping the
suite.  ``python tests/test_public_api.py`` prints the failures per class.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import multiprocessing
import os
import re
import signal
import sys
import time
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import scaling_lab as sl
from scaling_lab.core.validation import MAX_ELEMENTS

CPU_LIMIT_S = 1.0
BASELINE_CPU_LIMIT_S = 20.0  # the first (valid) call may compile the simulator's kernels with a cold numba cache
WALL_LIMIT_S = 20.0  # a call may wait for a busy machine, but not for ever

# Parameters that are not numeric quantities (randomness and switches) are not mutated.
NOT_QUANTITIES = {"seed", "rng", "n_jobs"}

_POPULARITY = sl.zipf_popularity(50, 0.8)
_TRACE = sl.irm_trace(_POPULARITY, 500, seed=1)
_EDGES = sl.log_bucket_edges(1e-3, 1.0, 10)

# One valid value per parameter name of CONTRIBUTING.md's vocabulary (and the other names in use).
VOCAB = {
    "arrival_rate": 5.0, "service_rate": 1.0, "servers": 8, "offered_load": 5.0, "scv": 1.0,
    "arrival_scv": 1.0, "q": 0.9, "t": 0.5, "t_s": 10.0, "hit_ratio": 0.5, "cache_size": 10,
    "popularity": _POPULARITY, "n_items": 100, "alpha": 0.8, "n_requests": 2000, "trace": _TRACE,
    "ttl_s": 10.0, "update_rate": 0.1, "write_rate": 100.0, "apply_rate": 200.0, "base_rate": 10.0,
    "burst_rate": 30.0, "burst_s": 60.0, "workers": 4, "drain_target_s": 120.0, "base_throughput": 100.0,
    "sigma": 0.05, "kappa": 0.001, "concurrency": np.array([1.0, 2, 4, 8, 16]),
    "throughput": np.array([100.0, 190, 340, 520, 640]), "serial_fraction": 0.05,
    "availability": 0.99, "availabilities": (0.99, 0.999), "unavailability": 0.01,
    "unavailabilities": (0.01, 0.001), "k": 2, "n": 5, "mttf_h": 2000.0, "mttr_h": 10.0,
    "failover_s": 30.0, "datacenters": 3, "utilization": 0.5, "dc_unavailability": 0.001,
    "needed": 2, "distance_km": 1000.0, "interval_s": 5.0, "unhealthy_threshold": 3,
    "timeout_s": 1.0, "n_trials": 200, "load": 0.7, "choices": 2, "i": 2,
    "demands_s": np.array([0.01, 0.02, 0.005]), "think_time_s": 1.0, "users": 20,
    "error_ratio": 0.002, "slo": 0.999, "window": 30.0, "budget_fraction": 0.02, "alert_window": 1.0,
    "slo_window": 720.0, "series": 1000.0, "scrape_interval_s": 15.0, "events_per_s": 100.0,
    "bytes_per_event": 500.0, "read_fraction": 0.9, "replicas": 3, "primary_capacity_per_s": 1000.0,
    "read_delay_s": 0.01, "max_stale_probability": 0.01, "shards": 8, "n_keys": 1000, "vnodes": 50,
    "key_hashes": sl.hash64(np.arange(200)), "keys": np.arange(20), "old_shards": 8, "new_shards": 9,
    "users_per_server": 100.0, "activity_scv": 1.0, "active_users": 1000.0, "mean_session_s": 600.0,
    "servers_before": 4, "session_s": 600.0, "restarts_per_day": 2.0, "fraction": 0.9,
    "service_time_s": 0.01, "nodes": 3, "ops_per_request": 2.0, "rtt_s": 0.0005,
    "p_slow": 0.01, "median_s": 0.01, "delay_s": 0.02, "min_s": 1e-3, "max_s": 10.0,
    "samples_s": np.linspace(0.002, 0.9, 50), "edges": _EDGES, "counts": np.arange(1.0, len(_EDGES)),
    "samples": np.sin(np.arange(300.0)), "n_batches": 10, "confidence": 0.95, "daily_users": 1e5,
    "requests_per_user_per_day": 30.0, "peak_arrival_rate": 100.0, "peak_to_average": 2.0,
    "to_origin_ms": np.array([80.0, 120]), "to_edge_ms": np.array([10.0, 20]),
    "edge_to_origin_ms": np.array([70.0, 100]), "edge_shares": np.array([0.5, 0.3, 0.2]),
    "shared_popularity": _POPULARITY, "local_popularity": _POPULARITY, "locality": 0.3,
    "user_lat": np.array([40.7, 51.5, 35.7]), "user_lon": np.array([-74.0, -0.1, 139.7]),
    "dc_lat": np.array([39.0, 50.1]), "dc_lon": np.array([-77.5, 8.7]),
    "site_lat": np.array([39.0, 50.1, 35.7]), "site_lon": np.array([-77.5, 8.7, 139.7]),
    "lat1": 40.7, "lon1": -74.0, "lat2": 51.5, "lon2": -0.1, "mean": 0.01, "value": 0.01,
    "arrival_rate_on": 20.0, "mean_on_s": 1.0, "mean_off_s": 3.0,
    "arrival_rates": (5.0, 10.0), "durations_s": (60.0, 60.0), "web_service_s": 0.05,
    "job_service_s": 1.0, "web_workers": 8, "job_workers": 4, "backend_service_rate": 50.0,
    "backend_servers": 4, "cache_latency_s": 0.001, "hit_latency_s": 0.001, "miss_latency_s": 0.05,
    "arrivals": np.array([0.0, 0.5, 1.0, 1.2, 3.0]), "services": np.array([1.0, 1.0, 0.5, 0.5, 0.1]),
    "departures": np.array([1.0, 1.5, 2.0, 2.5, 3.5]), "starts": np.array([0.0, 0.5, 1.0, 1.5, 3.0]),
    "t0": 0.0, "t1": 4.0, "y": 0.25, "label": "SLO", "name": "web",
    "node_capacity_per_s": 1000.0, "cores": 4, "value_bytes": 500.0, "item_bytes": np.array([100.0, 2000, 50_000]),
    "join_s": 0.02, "get_s": 0.001, "write_s": 0.004, "copies": 2, "fetch_s": 0.5, "pool_size": 8,
    "breaching_periods": 3, "boot_s": 90.0, "slo_rate": 500.0, "ramp_rate": 0.5, "lag_s": 120.0,
}

# Where the vocabulary is not enough: valid arguments for one callable.
EXAMPLES = {
    "k_of_n": {"k": 2, "n": 3}, "k_of_n_unavailability": {"k": 2, "n": 3},
    "simulate_queue": {"servers": 2, "arrival_rate": 1.0, "n_requests": 2000},
    "simulate_pool": {"arrival_rate": 4.0, "service": sl.Exponential(1.0), "servers": 6, "n_requests": 2000},
    "simulate_tandem": {"arrival_rate": 1.0, "stages": [(2, sl.Exponential(1.0)), (1, sl.Exponential(0.5))],
                        "n_requests": 2000},
    "simulate_closed_network": {"n_cycles": 2000},
    "simulate_datacenter_availability": {"horizon_h": 1e5},
    "simulate_failed_requests": {"n_trials": 100},
    "simulate_retries": {"arrival_rate": 20.0, "service": sl.Exponential(0.1), "servers": 4, "burst_rate": 60.0,
                         "burst_s": 2.0, "duration_s": 20.0},
    "metastability_map": {"arrival_rate": 20.0, "service": sl.Exponential(0.1), "servers": 4,
                          "burst_rates": [40.0, 60.0], "burst_lengths_s": [1.0], "observe_s": 5.0},
    "simulate_keys_moved": {"scheme": "consistent", "n_keys": 2000},
    "assign_shards": {"scheme": "jump"},
    "simulate_hit_ratio": {"policy": "lru", "trace": _TRACE},
    "OpenNetwork": {"arrival_rate": 5.0, "stations": [sl.Station("web", 4, 2.0), sl.Station("db", 1, 20.0)],
                    "visits": np.array([1.0, 0.5])},
    "Station": {"servers": 2, "service_rate": 3.0},
    "RenewalArrivals": {"interarrival": sl.Exponential(0.2)},
    "HedgedRequest": {"distribution": stats.lognorm(0.5, scale=0.01)},
    "n_plus_one_headroom": {"max_mean_wait_s": 0.5},
    "servers_needed": {"max_prob_wait": 0.5, "max_mean_wait_s": 1.0, "max_wait_quantile": (0.95, 2.0),
                       "max_response_quantile": (0.9, 5.0)},
    "max_arrival_rate": {"max_prob_wait": 0.5, "max_mean_wait_s": 1.0, "max_wait_quantile": (0.95, 2.0),
                         "max_response_quantile": (0.9, 5.0)},
    "max_of_k_quantile": {"quantile_function": lambda q: -np.log1p(-np.asarray(q))},
    "max_utilization_for_failover": {"shares": sl.failover_shares(VOCAB["user_lat"], VOCAB["user_lon"],
                                                                  VOCAB["site_lat"], VOCAB["site_lon"])},
    "merge_histograms": {"*": (np.ones(5), np.arange(5.0))},
    "best_sites": {"k": 2},
    "decoupling_comparison": {"arrival_rate": 50.0},
    "read_scaling": {"replicas": 3},
    "service_availability": {"datacenters": 3, "utilization": 0.5},
    "datacenters_needed": {"datacenters": 3, "utilization": 0.5},
    "failover_utilization_limit": {"datacenters": 3},
    "users_losing_sessions": {"servers": 10},
    "sticky_peak_load_factor": {"servers": 10},
    "simulate_sticky_loads": {"users": 200, "servers": 10, "n_trials": 50},
    "requests_to_failed_server": {"servers": 4},
    "mean_field_tail": {"i": 2},
    "latency_vs_load_figure": {"servers": 4, "points": 20},
    "parallel_map": {"func": abs, "items": [1, -2]},
    "fit_usl": {},
    "amdahl_speedup": {"workers": 4.0},  # real n > 0, documented: "fractional values allowed for plotting"
    "time_average_in_system": {},
    "zipf_cache_items": {"n_items": 1e6, "alpha": 0.9, "hit_ratio": 0.5},
    "plan": {"daily_users": 1e5}, "sweep": {"daily_users": [1e4, 1e5]},
    "entry_points": {"max_users": 1e6, "points_per_decade": 2},  # a coarse grid: 0.3 s of CPU, not 1 s
    "Slider": {"name": "x", "label": "x", "values": [1, 2, 3]},
    "Explorer": {"draw": lambda x=1: sl.latency_vs_load_figure(0.01, 4, points=10),
                 "sliders": [sl.Slider("x", "x", [1, 2])]},
    "SessionStore": {"arrival_rate": 50.0},
    "held_pool": {"arrival_rate": 170.0, "stations": [("web", 8, 40.0), ("database", 4, 50.0)]},
    "pool_throughput": {"stations": [("web", 8, 40.0), ("database", 4, 50.0)]},
    "staleness_window": {"strategy": "invalidate"},
    "ConsistentHashRing": {"shards": 4, "vnodes": 20},
    "SimulationResult.wait_quantile": {"q": 0.9}, "SimulationResult.response_quantile": {"q": 0.9},
}

# Parameters whose values are opaque to the callable (handed on as they are): only a value of the wrong
# kind altogether (not iterable) is bad there; what the items hold is for the function they go to.
OPAQUE = {("parallel_map", "items"): {"none", "complex", "bool", "object"}}

# Parameters that take names as well as numbers: an array of strings is valid input there.
NAMES_ALLOWED = {("Slider", "values")}  # a slider's grid of named choices is a drop-down

# Callables that still fail, with the classes of their failures: strict xfail, so that fixing one
# makes its entry fail until it is removed.  "open" ones are this layer's to fix.
PENDING: dict[str, str] = {}


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------
def _public_classes() -> dict[str, type]:
    return {n: getattr(sl, n) for n in sl.__all__ if inspect.isclass(getattr(sl, n))}


def _result_producers() -> dict[str, str]:
    """Result class name -> a public function whose return annotation is that class."""
    classes = _public_classes()
    out = {}
    for n in sl.__all__:
        f = getattr(sl, n)
        if inspect.isfunction(f):
            ret = inspect.signature(f).return_annotation
            ret = ret if isinstance(ret, str) else getattr(ret, "__name__", "")
            if ret in classes and ret not in out:
                out[ret] = n
    return out


def _targets() -> list[str]:
    names = []
    producers = _result_producers()
    for n in sl.__all__:
        obj = getattr(sl, n)
        if not callable(obj):
            continue
        if inspect.isclass(obj):
            if n not in producers and not inspect.isabstract(obj) and n not in ("Distribution", "ArrivalProcess"):
                names.append(n)
            for m, f in vars(obj).items():
                if not m.startswith("_") and inspect.isfunction(f):
                    names.append(f"{n}.{m}")
        else:
            names.append(n)
    return names


@functools.cache
def _instance(cls_name: str):
    """One instance per class, built in the test process: the forked calls share it (and its compiled kernels)."""
    producers = _result_producers()
    if cls_name in producers:
        f = getattr(sl, producers[cls_name])
        args, kwargs = _baseline(producers[cls_name], f)
        return f(*args, **kwargs)
    if cls_name in ("Distribution", "ArrivalProcess"):
        return sl.Exponential(0.1) if cls_name == "Distribution" else sl.PoissonArrivals(5.0)
    cls = getattr(sl, cls_name)
    args, kwargs = _baseline(cls_name, cls)
    return cls(*args, **kwargs)


def _callable(target: str):
    if "." in target:
        cls_name, meth = target.split(".")
        return getattr(_instance(cls_name), meth)
    return getattr(sl, target)


def _signature(target: str) -> inspect.Signature:
    if "." in target:
        cls_name, meth = target.split(".")
        return inspect.signature(getattr(getattr(sl, cls_name), meth))
    return inspect.signature(getattr(sl, target))


def _baseline(target: str, f=None) -> tuple[tuple, dict]:
    """Valid (args, kwargs) for ``target``; raises KeyError naming a parameter without a value."""
    sig = _signature(target)
    example = EXAMPLES.get(target, {})
    args, kwargs = (), {}
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.VAR_POSITIONAL:
            args = tuple(example.get("*", VOCAB.get(p.name, ())))
        elif p.kind is p.VAR_KEYWORD:
            continue
        elif p.name in example:
            kwargs[p.name] = example[p.name]
        elif p.default is not p.empty:
            continue
        elif p.name == "rng":
            kwargs[p.name] = np.random.default_rng(0)
        elif p.name in VOCAB:
            kwargs[p.name] = VOCAB[p.name]
        else:
            raise KeyError(f"no valid value for {target}({p.name}=...): add it to VOCAB or EXAMPLES")
    return args, kwargs


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _is_vector(v) -> bool:
    if isinstance(v, np.ndarray):
        return v.dtype.kind in "iuf" and v.ndim >= 1
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(_is_number(x) for x in v)


def _scalar_annotation(p: inspect.Parameter) -> bool:
    a = p.annotation
    a = a if isinstance(a, str) else getattr(a, "__name__", str(a))
    return bool(re.fullmatch(r"(float|int)( \| None)?|(None \| )(float|int)", a.strip()))


AT_BOUND = object()  # stands for the largest integer the parameter's own error message allows


def _upper_bound(f, args, kwargs, param) -> int | None:
    """The upper bound a rejection of ``param=1e308`` states ("in [1, 10^9]"), if any."""
    try:
        f(*args, **dict(kwargs, **{param: 1e308}))
    except (ValueError, TypeError) as exc:
        m = re.search(rf"{re.escape(param)}\S* must be an integer in \[[^,]+, (\d+)(?:\^(\d+))?\]", str(exc))
        if m:
            return int(m.group(1)) ** int(m.group(2)) if m.group(2) else int(m.group(1))
    return None


def _bad_values(value, scalar: bool):
    """(label, bad value, must_reject) for one numeric parameter whose valid value is ``value``."""
    wrong_type = [("string", "1", True), ("complex", 1j, True), ("bool", True, True), ("object", object(), True)]
    if _is_number(value):
        neg = -abs(float(value)) if value else -1.0
        out = [("nan", math.nan, True), ("inf", math.inf, False), ("-inf", -math.inf, False),
               ("negative", neg, False), ("huge", 1e308, False), ("max", float(np.finfo(float).max), False),
               ("tiny", 5e-324, False), ("small", 1e-300, False), ("empty", [], True),
               ("wrong_shape", [value, value], scalar), ("none", None, True)]
        if isinstance(value, (int, np.integer)):
            out += [("int64_overflow", 2**63, False), ("fraction", 2.5, True), ("at_bound", AT_BOUND, False)]
        return out + wrong_type
    arr = np.array(value, dtype=float)
    out = []
    for label, x, must in (("nan", math.nan, True), ("inf", math.inf, False), ("-inf", -math.inf, False),
                           ("negative", -1.0, False), ("huge", 1e308, False)):
        bad = arr.copy()
        bad.flat[-1] = x
        out.append((label, type(value)(bad) if isinstance(value, (list, tuple)) else bad, must))
    for label, x in (("all_huge", 1e308), ("all_tiny", 5e-324), ("all_zero", 0.0)):  # sums and reciprocals
        full = np.full_like(arr, x)
        out.append((label, type(value)(full) if isinstance(value, (list, tuple)) else full, False))
    one_tiny = arr.copy()
    one_tiny.flat[0] = 5e-324
    out.append(("one_tiny", type(value)(one_tiny) if isinstance(value, (list, tuple)) else one_tiny, False))
    out.append(("empty", type(value)() if isinstance(value, (list, tuple)) else np.array([]), True))
    if arr.ndim == 1 and arr.size >= 3:
        out.append(("shorter", arr[:-1], False))
    out.append(("2-d", np.stack([arr, arr]), False))
    out.append(("strings", np.array([str(x) for x in arr.flat]), True))
    out.append(("none", None, True))
    return out + [(k, v, True) for k, v, _ in wrong_type]


def _cases(target: str) -> list[tuple[str, str, object, bool]]:
    """[(parameter, label, value, must_reject)], the baseline first as ("", "baseline", None, False)."""
    cases = [("", "baseline", None, False)]
    try:
        args, kwargs = _baseline(target)
    except KeyError:
        return cases
    sig = _signature(target)
    for p in sig.parameters.values():
        if p.name in NOT_QUANTITIES or p.kind is p.VAR_KEYWORD:
            continue
        if p.kind is p.VAR_POSITIONAL:
            if args and all(_is_number(a) for a in args):
                for label, bad, must in _bad_values(args[0], True):
                    if label not in ("wrong_shape", "empty"):
                        cases.append((p.name, label, ("*", bad), must))
            continue
        value = kwargs.get(p.name, p.default)
        if value is p.empty or not (_is_number(value) or _is_vector(value)):
            continue
        for label, bad, must in _bad_values(value, _scalar_annotation(p)):
            if label == "none" and p.default is None or label == "strings" and (target, p.name) in NAMES_ALLOWED:
                continue
            if (target, p.name) in OPAQUE and label not in OPAQUE[target, p.name]:
                continue
            cases.append((p.name, label, bad, must))
    return cases


# ---------------------------------------------------------------------------
# Judging one call
# ---------------------------------------------------------------------------
PROBABILITY = re.compile(r"^(prob_|erlang_)|hit_ratio|(^|_)(un)?availability$|probability|(^|_)fraction$"
                         r"|^fraction|(^|_)shares?$|share_")


def _walk(value, name: str, depth: int = 0):
    """Yield (path, value) for every number-like leaf of a result."""
    if depth > 3 or callable(value) and not hasattr(value, "__dataclass_fields__") and not hasattr(value, "__dict__"):
        return
    if isinstance(value, (bool, np.bool_, str, type(None))):
        return
    if _is_number(value) or isinstance(value, np.ndarray):
        yield name, value
    elif isinstance(value, (pd.DataFrame, pd.Series)):
        yield name, value.select_dtypes("number").to_numpy() if isinstance(value, pd.DataFrame) else (
            value.to_numpy() if value.dtype.kind in "iuf" else np.array([]))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, str(k), depth + 1)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _walk(v, name, depth + 1)
    elif type(value).__module__.startswith("scaling_lab"):
        if dataclasses.is_dataclass(value):
            for fld in dataclasses.fields(value):
                yield from _walk(getattr(value, fld.name), fld.name, depth + 1)
        for attr, prop in inspect.getmembers(type(value), lambda m: isinstance(m, property)):
            if not attr.startswith("_"):
                yield from _walk(getattr(value, attr), attr, depth + 1)


def _judge(result, name: str, param: str, label: str, must_reject: bool) -> tuple[str, str] | None:
    """None if the result is sane, else (failure class, detail)."""
    empty_out = False
    for path, v in _walk(result, name):
        a = np.asarray(v)
        if a.size == 0:
            empty_out = True
            continue
        if a.dtype.kind == "f" and np.isnan(a).any():
            return "nan", f"{path} is NaN"
        if a.dtype.kind in "iu" and (a < -1).any():  # counts, or -1 for "none" (a first reference)
            return "out_of_range", f"{path} = {a.min()} < -1"
        if PROBABILITY.search(path) and a.dtype.kind in "iuf" and ((a < 0) | (a > 1)).any():
            return "out_of_range", f"{path} outside [0, 1]"
    if must_reject and not (label == "empty" and empty_out):
        return "accepted_bad", f"accepted {param}={label}"
    return None


def _outcome(target: str, case) -> tuple[str, str] | None:
    param, label, bad, must_reject = case
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            f = _callable(target)
            args, kwargs = _baseline(target)
            if bad is AT_BOUND:  # the largest accepted count must not hang: probe bounds above MAX_ELEMENTS
                bound = _upper_bound(f, args, kwargs, param)
                if bound is None or bound <= MAX_ELEMENTS:
                    return None
                bad = bound
            if param:
                if isinstance(bad, tuple) and len(bad) == 2 and bad[0] == "*":
                    args = (bad[1],) + tuple(args[1:])
                else:
                    kwargs = dict(kwargs, **{param: bad})
            result = f(*args, **kwargs)
            verdict = _judge(result, target.split(".")[-1], param, label, must_reject) if param else (
                _judge(result, target.split(".")[-1], "", "", False))
        except (ValueError, TypeError) as exc:
            if not param:
                return "baseline", f"{type(exc).__name__}: {exc}"
            if param not in str(exc):
                return "unnamed", f"{type(exc).__name__}: {str(exc)[:120]}"
            verdict = None
        except KeyError as exc:
            return "baseline", str(exc)
        except Exception as exc:  # noqa: BLE001 - any other exception type is the failure we look for
            return ("baseline" if not param else "exception"), f"{type(exc).__name__}: {str(exc)[:120]}"
    if caught:
        w = caught[0]
        return "warning", f"{w.category.__name__}: {str(w.message)[:100]}"
    return verdict


# ---------------------------------------------------------------------------
# Running the calls of one target in a child process, with a CPU-time limit per call
# ---------------------------------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def run_target(target: str) -> list[tuple[tuple, tuple[str, str] | None]]:
    """[(case, failure or None)] for every case of ``target``."""
    cases = _cases(target)
    if "." in target:  # the instance is built here, before the CPU clock of any call starts
        _instance(target.split(".")[0])
    verdicts: list = [None] * len(cases)
    ctx = multiprocessing.get_context("fork")
    i = 0
    while i < len(cases):
        recv, send = ctx.Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:  # the child runs cases i, i+1, ...
            recv.close()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)  # what a callable prints (a figure, a widget) is not the report's
            try:
                for j in range(i, len(cases)):
                    send.send(("start", j))
                    send.send(("done", j, _outcome(target, cases[j])))
            finally:
                os._exit(0)
        send.close()
        current, started, cpu0 = None, time.monotonic(), _cpu_seconds(pid)
        while True:
            if recv.poll(0.05):
                try:
                    msg = recv.recv()
                except EOFError:
                    if current is not None:
                        verdicts[current] = ("exception", "the process died")
                        i = current + 1
                    else:
                        i = len(cases)
                    break
                if msg[0] == "start":
                    current, started, cpu0 = msg[1], time.monotonic(), _cpu_seconds(pid)
                else:
                    verdicts[msg[1]] = msg[2]
                    current = None
                    if msg[1] == len(cases) - 1:
                        i = len(cases)
                        break
                continue
            limit = BASELINE_CPU_LIMIT_S if current == 0 else CPU_LIMIT_S
            if current is not None and (_cpu_seconds(pid) - cpu0 > limit
                                        or time.monotonic() - started > max(WALL_LIMIT_S, limit)):
                verdicts[current] = ("hang", f"still running after {limit} s of CPU time")
                i = current + 1
                break
        os.kill(pid, signal.SIGKILL)  # the child is ours and not yet reaped (at worst a zombie)
        os.waitpid(pid, 0)
        recv.close()
    return list(zip(cases, verdicts))


def _failures(target: str) -> list[str]:
    out = []
    for (param, label, _, _), verdict in run_target(target):
        if verdict is not None:
            where = f"{target}({param}={label})" if param else f"{target}(baseline)"
            out.append(f"[{verdict[0]}] {where}: {verdict[1]}")
    return out


TARGETS = _targets()


@pytest.mark.parametrize("target", [
    pytest.param(t, marks=pytest.mark.xfail(strict=True, reason=PENDING[t])) if t in PENDING else t for t in TARGETS])
def test_bad_input_is_rejected_by_name(target):
    failures = _failures(target)
    assert not failures, "\n".join(failures)


def main() -> None:  # pragma: no cover - the report of `python tests/test_public_api.py`
    counts, lines = Counter(), []
    start = time.monotonic()
    for target in TARGETS:
        for line in _failures(target):
            counts[line[1:line.index("]")]] += 1
            lines.append(line)
    print("\n".join(lines))
    print(f"\n{len(TARGETS)} callables, {time.monotonic() - start:.0f} s")
    for cls, n in sorted(counts.items()):
        print(f"{cls:>14}: {n}")
    print(f"{'total':>14}: {sum(counts.values())}")


if __name__ == "__main__":
    main()
