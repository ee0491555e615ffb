"""Content delivery networks: time to first byte and origin offload of TTL edge caches.

A user fetches through the edge nearest to them.  A fetch costs ``round_trips``
round trips to that edge; a miss adds one round trip from the edge to the
origin (edge and origin keep their connections open):

.. math:: t_{\\text{direct}} = r\\,\\mathrm{RTT}_{u,o}, \\qquad
          t_{\\text{CDN}} = r\\,\\mathrm{RTT}_{u,e} + (1 - h)\\,\\mathrm{RTT}_{e,o}.

Each edge is a TTL (``max-age``) cache with unlimited storage.  Edge :math:`e`
receives a share :math:`s_e` of the traffic :math:`\\Lambda`; a fraction
:math:`\\ell` of requests is for the region's own content, the rest for content
every region shares, each with its own popularity.  Object :math:`i` then
arrives at edge :math:`e` at rate :math:`\\lambda_{e,i}` and hits with
:math:`\\lambda_{e,i} T/(1 + \\lambda_{e,i} T)`
(:func:`scaling_lab.cache.ttl_hit_ratio`); the origin offload is the
rate-weighted mean over all edges and objects.

References
----------
E. Nygren, R. K. Sitaraman and J. Sun, *The Akamai network: a platform for
high-performance Internet applications*, ACM SIGOPS OSR 44(3), 2010.
N. C. Fofack, P. Nain, G. Neglia and D. Towsley, *Analysis of TTL-based cache
networks*, VALUETOOLS 2012.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .core.validation import (MAX_COUNT, check_in_range, check_integer, check_nonnegative, check_positive,
                              check_probability)
from .cache import ttl_hit_ratio

__all__ = ["first_byte_ms", "edge_request_rates", "edge_hit_ratios", "central_hit_ratio", "CDNCost",
           "cdn_monthly_cost", "cdn_break_even_usd_per_gb"]


def first_byte_ms(to_origin_ms, to_edge_ms, edge_to_origin_ms, hit_ratio: float, round_trips: int = 3):
    """Time to first byte (ms) without and with a CDN, per user.

    Parameters
    ----------
    to_origin_ms, to_edge_ms : float or array
        Round-trip times from each user to the origin and to their edge, ms.
    edge_to_origin_ms : float or array
        Round-trip time from each user's edge to the origin, ms.
    hit_ratio : float
        Edge hit ratio :math:`h` in [0, 1].
    round_trips : int
        Round trips per fetch :math:`r` (TCP and TLS handshakes plus the request), >= 1.

    Returns
    -------
    (direct, cdn) : arrays
        :math:`r\\,\\mathrm{RTT}_{u,o}` and :math:`r\\,\\mathrm{RTT}_{u,e} + (1-h)\\,\\mathrm{RTT}_{e,o}`.
    """
    to_origin = np.asarray(check_nonnegative(to_origin_ms, "to_origin_ms"), dtype=float)
    to_edge = np.asarray(check_nonnegative(to_edge_ms, "to_edge_ms"), dtype=float)
    edge_to_origin = np.asarray(check_nonnegative(edge_to_origin_ms, "edge_to_origin_ms"), dtype=float)
    h = check_probability(hit_ratio, "hit_ratio", scalar=True)
    r = check_integer(round_trips, "round_trips", minimum=1, maximum=MAX_COUNT, scalar=True)
    with np.errstate(over="ignore"):  # nonnegative terms: past the float range the time is inf
        return r * to_origin, r * to_edge + (1.0 - h) * edge_to_origin


def _checked(arrival_rate, edge_shares, shared_popularity, local_popularity, locality):
    total = check_positive(arrival_rate, "arrival_rate", scalar=True)
    shares = np.asarray(check_probability(edge_shares, "edge_shares"), dtype=float)
    if not np.isclose(shares.sum(), 1.0):
        raise ValueError(f"edge_shares must sum to 1, got {shares.sum()!r}")
    shared = np.asarray(check_probability(shared_popularity, "shared_popularity"), dtype=float)
    local = np.asarray(check_probability(local_popularity, "local_popularity"), dtype=float)
    for name, p in (("shared_popularity", shared), ("local_popularity", local)):
        if not np.isclose(p.sum(), 1.0):
            raise ValueError(f"{name} must sum to 1, got {p.sum()!r}")
    return total, shares, shared, local, check_probability(locality, "locality", scalar=True)


def edge_request_rates(arrival_rate: float, edge_shares, shared_popularity, local_popularity,
                       locality: float) -> list[np.ndarray]:
    """Request rate (per second) of every object at every edge: the shared objects, then the region's own."""
    total, shares, shared, local, ell = _checked(arrival_rate, edge_shares, shared_popularity,
                                                 local_popularity, locality)
    per_object = np.concatenate([(1.0 - ell) * shared, ell * local])
    return [total * s * per_object for s in shares]


def edge_hit_ratios(arrival_rate: float, ttl_s: float, edge_shares, shared_popularity,
                    local_popularity, locality: float) -> tuple[np.ndarray, float]:
    """Hit ratio of every edge and the overall origin offload (fraction of requests served by edges).

    Edges with no traffic report a hit ratio of 0.
    """
    ttl = check_nonnegative(ttl_s, "ttl_s", scalar=True)
    rates = edge_request_rates(arrival_rate, edge_shares, shared_popularity, local_popularity, locality)
    hits = np.array([np.sum(r * ttl_hit_ratio(r, ttl)) for r in rates])
    offered = np.array([r.sum() for r in rates])
    with np.errstate(invalid="ignore", divide="ignore"):
        per_edge = np.where(offered > 0, hits / np.where(offered > 0, offered, 1.0), 0.0)
    total = offered.sum()  # 0 when every object's rate is below the float range: no traffic, no offload
    return per_edge, float(hits.sum() / total) if total > 0 else 0.0


def central_hit_ratio(arrival_rate: float, ttl_s: float, edge_shares, shared_popularity,
                      local_popularity, locality: float) -> float:
    """Hit ratio of one cache receiving all edges' traffic (shared objects merged, local ones apart)."""
    ttl = check_nonnegative(ttl_s, "ttl_s", scalar=True)
    total, shares, shared, local, ell = _checked(arrival_rate, edge_shares, shared_popularity,
                                                 local_popularity, locality)
    rates = np.concatenate([total * (1.0 - ell) * shared] + [total * s * ell * local for s in shares])
    return float(np.sum(rates * ttl_hit_ratio(rates, ttl)) / total)


_SECONDS_PER_MONTH = 365.25 * 86_400 / 12  # 730.5 hours, as the planner's prices
_MAX_USD_PER_GB = 1e3
_MAX_RATE = 1e12


@dataclass(frozen=True)
class CDNCost:
    """A month of static traffic priced with and without a CDN (US dollars).

    Attributes
    ----------
    gb_per_month : float
        Gigabytes the users fetch in a month, :math:`V`.
    origin_only_usd : float
        :math:`V e`: every byte leaves the origin to the users.
    cdn_delivery_usd : float
        :math:`F + V c`: the CDN's fixed monthly fee and its price per GB delivered.
    origin_fill_usd : float
        :math:`(1-h) V f`: the misses, which leave the origin to the CDN.
    """

    gb_per_month: float
    origin_only_usd: float
    cdn_delivery_usd: float
    origin_fill_usd: float

    @property
    def with_cdn_usd(self) -> float:
        """Monthly bill through the CDN, :math:`F + Vc + (1-h)Vf`."""
        return self.cdn_delivery_usd + self.origin_fill_usd

    @property
    def savings_usd(self) -> float:
        """What the CDN saves on transfer each month (negative: it costs more)."""
        return self.origin_only_usd - self.with_cdn_usd


def cdn_monthly_cost(arrival_rate: float, hit_ratio: float, *, bytes_per_request: float = 100e3,
                     origin_usd_per_gb: float = 0.09, cdn_usd_per_gb: float = 0.085,
                     fill_usd_per_gb: float = 0.09, cdn_usd_per_month: float = 0.0) -> CDNCost:
    """Transfer bill of a month of static requests, from the origin alone or through a CDN.

    .. math:: V = \\frac{\\Lambda\\,b\\,t_{\\text{month}}}{10^9}, \\qquad
              C_{\\text{origin}} = V e, \\qquad
              C_{\\text{CDN}} = F + V c + (1 - h)\\,V f

    with :math:`\\Lambda` requests per second of mean size :math:`b` bytes, a
    month of 730.5 hours, origin egress :math:`e`, CDN delivery :math:`c` and
    origin-to-CDN fill :math:`f` in dollars per GB (:math:`f = 0` when the
    origin and the CDN belong to the same cloud, as EC2 to CloudFront), and a
    fixed fee :math:`F` per month.  The hit ratio is taken as the share of
    bytes served by the edges (objects of equal mean size).  Requests fees,
    tiered prices and the origin servers the CDN saves are not included.

    Parameters
    ----------
    arrival_rate : float
        :math:`\\Lambda`, requests per second, in [0, 10^12].
    hit_ratio : float
        Edge hit ratio (origin offload) :math:`h` in [0, 1].
    bytes_per_request : float
        Mean bytes per response :math:`b`, in (0, 10^12].
    origin_usd_per_gb, cdn_usd_per_gb, fill_usd_per_gb : float
        :math:`e`, :math:`c`, :math:`f` in [0, 1000] dollars per GB (defaults:
        the first tiers of AWS's EC2 internet egress and CloudFront list prices).
    cdn_usd_per_month : float
        :math:`F`, fixed dollars per month, in [0, 10^12].

    References
    ----------
    Amazon Web Services, Amazon EC2 on-demand pricing (data transfer) and
    Amazon CloudFront pricing, 2024.
    """
    rate = check_in_range(arrival_rate, "arrival_rate", 0.0, _MAX_RATE, scalar=True)
    h = check_probability(hit_ratio, "hit_ratio", scalar=True)
    size = check_in_range(bytes_per_request, "bytes_per_request", 0.0, _MAX_RATE, low_open=True, scalar=True)
    e, c, f = (check_in_range(v, name, 0.0, _MAX_USD_PER_GB, scalar=True)
               for v, name in ((origin_usd_per_gb, "origin_usd_per_gb"), (cdn_usd_per_gb, "cdn_usd_per_gb"),
                               (fill_usd_per_gb, "fill_usd_per_gb")))
    fee = check_in_range(cdn_usd_per_month, "cdn_usd_per_month", 0.0, _MAX_RATE, scalar=True)
    gb = float(rate) * float(size) * _SECONDS_PER_MONTH / 1e9
    return CDNCost(gb, gb * e, fee + gb * c, (1.0 - h) * gb * f)


def cdn_break_even_usd_per_gb(hit_ratio: float, *, origin_usd_per_gb: float = 0.09,
                              fill_usd_per_gb: float = 0.09) -> float:
    """Highest CDN price per GB at which the CDN costs no more than serving from the origin.

    Setting :math:`Vc + (1-h)Vf = Ve` (no fixed fee, see :func:`cdn_monthly_cost`):

    .. math:: c^* = e - (1 - h)\\,f.

    With a fill price equal to the egress price, :math:`c^* = h e`: a CDN pays
    for its transfer only if its price is below the origin's egress price
    times the hit ratio.  Negative when even a free CDN would cost more.

    Parameters
    ----------
    hit_ratio : float
        :math:`h` in [0, 1].
    origin_usd_per_gb, fill_usd_per_gb : float
        :math:`e` and :math:`f`, dollars per GB, in [0, 1000].
    """
    h = check_probability(hit_ratio, "hit_ratio", scalar=True)
    e = check_in_range(origin_usd_per_gb, "origin_usd_per_gb", 0.0, _MAX_USD_PER_GB, scalar=True)
    f = check_in_range(fill_usd_per_gb, "fill_usd_per_gb", 0.0, _MAX_USD_PER_GB, scalar=True)
    return float(e - (1.0 - h) * f)
