"""The simulator's inner loops: FCFS multi-server recursion, a router over FCFS stations, a closed network.

Compiled with numba when it is installed; each kernel is also valid plain Python.
"""

from __future__ import annotations

import heapq

import numpy as np

from ..core.compiled import HAVE_NUMBA, njit
from ..core.validation import MAX_ELEMENTS, check_finite, check_integer, check_nonnegative

__all__ = ["fcfs_start_times"]


@njit(cache=True)
def _sift(keys, vals, size, pos, key, val):
    """Put (key, val) in the free slot ``pos`` of the binary min-heap keys[:size], moved up or down to its place.

    The root (``pos`` 0) after a pop or a replace; the new last slot (``pos`` ``size - 1``) for a push.
    """
    while pos > 0:  # up while the parent is larger
        parent = (pos - 1) // 2
        if keys[parent] <= key:
            break
        keys[pos] = keys[parent]
        vals[pos] = vals[parent]
        pos = parent
    while True:  # down while the smaller child is smaller
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= key:
            break
        keys[pos] = keys[child]
        vals[pos] = vals[child]
        pos = child
    keys[pos] = key
    vals[pos] = val


@njit(cache=True)
def _fcfs_heap_kernel(arrivals, services, servers):
    """Kiefer–Wolfowitz with a binary heap of server free times (FCFS, c servers)."""
    n = arrivals.shape[0]
    free = np.zeros(servers)
    who = np.arange(servers)
    start = np.empty(n)
    server = np.empty(n, dtype=np.int64)
    for i in range(n):
        a = arrivals[i]
        t = free[0]
        s = a if a > t else t
        start[i] = s
        k = who[0]
        server[i] = k
        _sift(free, who, servers, 0, s + services[i], k)  # the server's new free time
    return start, server


@njit(cache=True)
def _in_outage(t, lo, hi, t0s, t1s):
    for j in range(lo, hi):
        if t < t0s[j]:
            return False
        if t < t1s[j]:
            return True
    return False


@njit(cache=True)
def _push_past_outages(t, lo, hi, t0s, t1s):
    for j in range(lo, hi):
        if t < t0s[j]:
            break
        if t < t1s[j]:
            t = t1s[j]
    return t


@njit(cache=True)
def _finish_with_outages(start, service, lo, hi, t0s, t1s):
    f = start + service
    for j in range(lo, hi):
        if t0s[j] >= f:
            break
        if t0s[j] > start:  # the server freezes mid-request; the request resumes afterwards
            f += t1s[j] - t0s[j]
    return f


@njit(cache=True)
def _router_kernel(arrivals, services, n_st, c, policy, d, tie_u, pick_u, optr, ot0, ot1, has_out):
    """Route each arrival to a station, then FCFS among that station's c servers.

    policy: 0 random, 1 round robin, 2 join shortest queue, 3 least work, 4 power of d.
    A departure heap keeps the number of requests at each station current.
    """
    n = arrivals.shape[0]
    free = np.zeros(n_st * c)
    count = np.zeros(n_st, dtype=np.int64)
    hf = np.empty(n)
    hs = np.empty(n, dtype=np.int64)
    hsize = 0
    start = np.empty(n)
    finish = np.empty(n)
    station = np.empty(n, dtype=np.int64)
    server = np.empty(n, dtype=np.int64)
    up = np.arange(n_st)
    is_up = np.ones(n_st, dtype=np.bool_)
    tmp = np.empty(n_st, dtype=np.int64)
    rr = 0
    for i in range(n):
        a = arrivals[i]
        while hsize > 0 and hf[0] <= a:  # departures before this arrival
            count[hs[0]] -= 1
            hsize -= 1
            if hsize > 0:  # move the last entry to the root and restore the heap
                _sift(hf, hs, hsize, 0, hf[hsize], hs[hsize])
        n_up = n_st
        if has_out:
            n_up = 0
            for k in range(n_st):
                down = True
                for s in range(c):
                    slot = k * c + s
                    if not _in_outage(a, optr[slot], optr[slot + 1], ot0, ot1):
                        down = False
                        break
                is_up[k] = not down
                if not down:
                    up[n_up] = k
                    n_up += 1
            if n_up == 0:  # everything is down: requests queue anywhere
                for k in range(n_st):
                    up[k] = k
                    is_up[k] = True
                n_up = n_st
        # -- pick a station --------------------------------------------------
        if policy == 0:
            j = int(tie_u[i] * n_up)
            k = up[j if j < n_up else n_up - 1]
        elif policy == 1:
            k = rr % n_st
            while not is_up[k]:
                k = (k + 1) % n_st
            rr = k + 1
        elif policy == 2 or policy == 3:
            off = int(tie_u[i] * n_up)
            k = -1
            best = np.inf
            for j in range(n_up):
                kk = up[(off + j) % n_up]
                if policy == 2:
                    m = float(count[kk])
                else:
                    m = 0.0
                    for s in range(c):
                        w = free[kk * c + s] - a
                        if w > 0:
                            m += w
                if m < best:
                    best = m
                    k = kk
        else:
            dd = d if d < n_up else n_up
            for j in range(n_up):
                tmp[j] = up[j]
            k = -1
            best = np.inf
            for j in range(dd):  # partial Fisher-Yates: d distinct stations
                r = j + int(pick_u[i, j] * (n_up - j))
                if r >= n_up:
                    r = n_up - 1
                kk = tmp[r]
                tmp[r] = tmp[j]
                tmp[j] = kk
                m = float(count[kk])
                if m < best:
                    best = m
                    k = kk
        # -- FCFS among the station's servers -------------------------------
        best_s = np.inf
        slot = k * c
        for s in range(c):
            sl = k * c + s
            t = free[sl] if free[sl] > a else a
            if has_out:
                t = _push_past_outages(t, optr[sl], optr[sl + 1], ot0, ot1)
            if t < best_s:
                best_s = t
                slot = sl
        if has_out:
            f = _finish_with_outages(best_s, services[i], optr[slot], optr[slot + 1], ot0, ot1)
        else:
            f = best_s + services[i]
        free[slot] = f
        start[i] = best_s
        finish[i] = f
        station[i] = k
        server[i] = slot - k * c
        count[k] += 1
        hsize += 1
        _sift(hf, hs, hsize, hsize - 1, f, k)  # push the departure
    return start, finish, station, server


@njit(cache=True)
def _closed_kernel(demands, think, users, n_cycles, draws):
    """Closed loop: think, then stations 0..K-1 in order (single-server FCFS), repeat."""
    K = demands.shape[0]
    free = np.zeros(K)
    ht = np.empty(users)
    hu = np.empty(users, dtype=np.int64)
    stage = np.zeros(users, dtype=np.int64)
    began = np.zeros(users)
    ends = np.empty(n_cycles)
    resp = np.empty(n_cycles)
    nd = 0
    for u in range(users):  # every user starts thinking; heap is built by sift-up
        _sift(ht, hu, u + 1, u, think * draws[nd], u)
        nd += 1
    done = 0
    while done < n_cycles:
        t = ht[0]
        u = hu[0]
        st = stage[u]
        if st == 0:
            began[u] = t
        if st < K:
            s = t if t > free[st] else free[st]
            nt = s + demands[st] * draws[nd]
            nd += 1
            free[st] = nt
            stage[u] = st + 1
        else:
            ends[done] = t
            resp[done] = t - began[u]
            done += 1
            stage[u] = 0
            nt = t + think * draws[nd]
            nd += 1
        _sift(ht, hu, users, 0, nt, u)  # replace the root by (nt, u)
    return ends, resp


# ---------------------------------------------------------------------------
# Statistics helpers

def _fcfs_heapq(arrivals, services, servers):
    free = [(0.0, k) for k in range(servers)]
    n = len(arrivals)
    start = np.empty(n)
    server = np.empty(n, dtype=np.int64)
    arr = arrivals.tolist()
    svc = services.tolist()
    heapreplace = heapq.heapreplace
    for i in range(n):
        t_free, k = free[0]
        a = arr[i]
        s = a if a > t_free else t_free
        start[i] = s
        server[i] = k
        heapreplace(free, (s + svc[i], k))
    return start, server


def fcfs_start_times(arrivals: np.ndarray, services: np.ndarray, servers: int) -> tuple[np.ndarray, np.ndarray]:
    """Start times and server indices of FCFS requests at a ``servers``-server station.

    ``arrivals`` must be sorted.  A request starts at
    :math:`\\max(A_n, \\min_k F_k)` where :math:`F_k` is the time server
    :math:`k` frees up (Kiefer–Wolfowitz); the earliest free server is kept in
    a binary heap.  For one server this is Lindley's recursion
    :math:`W_{n+1} = \\max(0, W_n + S_n - (A_{n+1} - A_n))`.
    """
    arrivals = np.ascontiguousarray(check_finite(arrivals, "arrivals", allow_empty=True), dtype=float)
    services = np.ascontiguousarray(check_nonnegative(services, "services", allow_empty=True), dtype=float)
    servers = check_integer(servers, "servers", minimum=1, maximum=MAX_ELEMENTS, scalar=True)
    if arrivals.shape != services.shape or arrivals.ndim != 1:
        raise ValueError(f"arrivals and services must be 1-D of equal length, got {arrivals.shape} "
                         f"and {services.shape}")
    if arrivals.size > 1 and (np.diff(arrivals) < 0).any():
        raise ValueError("arrivals must be sorted in time, got a decreasing step at element "
                         f"{int(np.flatnonzero(np.diff(arrivals) < 0)[0]) + 1}")
    if HAVE_NUMBA:
        return _fcfs_heap_kernel(arrivals, services, servers)
    return _fcfs_heapq(arrivals, services, servers)  # pragma: no cover


# ---------------------------------------------------------------------------
