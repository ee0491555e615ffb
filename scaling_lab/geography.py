"""Geography: the speed-of-light floor on round-trip times, and where to put data centers.

Light in silica fibre travels at :math:`c/n` with refractive index
:math:`n \\approx 1.468`, about 204 km per millisecond (roughly 2/3 of
:math:`c`).  Over a great-circle distance :math:`D` the round trip therefore
takes at least

.. math:: \\mathrm{RTT}_{\\min} = \\frac{2 D}{v_{fibre}} \\approx \\frac{D}{102\\ \\mathrm{km}}\\ \\mathrm{ms},

and real paths are longer than great circles and add switching and queueing:
a *route factor* :math:`r \\ge 1` multiplies the floor (measured inter-region
RTTs are 1.3-2.5 times the floor; :func:`route_factors` estimates it from the
data in ``data/``).

Data (see ``data/README.md``): :func:`load_cities` (55 cities),
:func:`load_cloud_regions` (9 AWS regions) and :func:`load_region_rtt`
(typical inter-region RTTs).

References
----------
R. W. Sinnott, *Virtues of the haversine*, Sky and Telescope 68(2), 1984.
I. N. Bozkurt et al., *Why is the Internet so slow?!*, PAM 2017 (paths are
a few times slower than the speed of light).
ITU-T G.652 (single-mode fibre; group index about 1.468 at 1550 nm).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from .core.validation import check_in_range, check_nonnegative
from .core.arrays import product_past_range, scalar_or_array

__all__ = [
    "EARTH_RADIUS_KM",
    "FIBRE_SPEED_KM_PER_MS",
    "haversine_km",
    "rtt_floor_ms",
    "load_cities",
    "load_cloud_regions",
    "load_region_rtt",
    "region_rtt_matrix",
    "route_factors",
    "nearest_datacenter",
    "user_rtt_ms",
]

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
FIBRE_SPEED_KM_PER_MS = 299_792.458 / 1.468 / 1000.0  # ~204.2 km/ms


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km between points given in degrees (broadcasts).

    .. math:: D = 2R \\arcsin\\sqrt{\\sin^2\\frac{\\Delta\\varphi}{2}
              + \\cos\\varphi_1 \\cos\\varphi_2 \\sin^2\\frac{\\Delta\\lambda}{2}}

    with :math:`R` = 6371.0088 km (spherical Earth: error below 0.5 %).

    References
    ----------
    Sinnott (1984).
    """
    la1 = np.radians(check_in_range(lat1, "lat1", -90.0, 90.0))
    la2 = np.radians(check_in_range(lat2, "lat2", -90.0, 90.0))
    lo1 = np.radians(check_in_range(lon1, "lon1", -180.0, 180.0))
    lo2 = np.radians(check_in_range(lon2, "lon2", -180.0, 180.0))
    a = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return scalar_or_array(d)


def check_coordinates(lat, lon, lat_name: str, lon_name: str) -> tuple[np.ndarray, np.ndarray]:
    """1-D float arrays of latitudes in [-90, 90] and longitudes in [-180, 180] degrees, of equal length.

    A scalar pair is one point.  Errors name the caller's parameters.
    """
    la = np.atleast_1d(check_in_range(lat, lat_name, -90.0, 90.0)).astype(float)
    lo = np.atleast_1d(check_in_range(lon, lon_name, -180.0, 180.0)).astype(float)
    if la.ndim != 1 or lo.ndim != 1 or la.shape != lo.shape:
        raise ValueError(f"{lat_name} and {lon_name} must be 1-D of equal length, got shapes {la.shape} and {lo.shape}")
    return la, lo


def rtt_floor_ms(distance_km, route_factor: float = 1.0, *, speed_km_per_ms: float = FIBRE_SPEED_KM_PER_MS):
    """Round-trip time floor in ms over ``distance_km`` of fibre.

    .. math:: \\mathrm{RTT} = \\frac{2\\,r\\,D}{v}

    Parameters
    ----------
    distance_km : float or array
        Great-circle distance :math:`D` >= 0.
    route_factor : float
        :math:`r \\ge 1`, path length and equipment overhead relative to the
        great circle (1 = the physical floor).
    speed_km_per_ms : float
        Signal speed, default light in fibre (~204 km/ms).
    """
    d = np.asarray(check_nonnegative(distance_km, "distance_km"), dtype=float)
    r = check_in_range(route_factor, "route_factor", 1.0, np.inf, high_open=True, scalar=True)
    v = check_in_range(speed_km_per_ms, "speed_km_per_ms", 0.0, 299.792458, low_open=True, scalar=True)
    # past the float range the floor is inf (and 0 at distance 0, where 2 r overflowing makes inf * 0 = NaN):
    # product_past_range recomputes those elements from logarithms
    with np.errstate(over="ignore", invalid="ignore"):
        out = 2.0 * r * d / v
    return scalar_or_array(product_past_range(out, (2.0, r, d), (v,)))


def _read(name: str) -> pd.DataFrame:
    """A table shipped in the package's ``data`` folder (also inside the wheel)."""
    with resources.files("scaling_lab.data").joinpath(name).open("rb") as f:
        return pd.read_csv(f)


def load_cities() -> pd.DataFrame:
    """The cities table: ``name``, ``country``, ``region``, ``lat``, ``lon`` (degrees)."""
    return _read("cities.csv")


def load_cloud_regions() -> pd.DataFrame:
    """Cloud regions: ``region`` code, ``city``, ``country``, ``lat``, ``lon``."""
    return _read("cloud_regions.csv")


def load_region_rtt() -> pd.DataFrame:
    """Typical inter-region RTTs, one row per pair, with great-circle ``distance_km`` and ``floor_ms`` added."""
    rtt = _read("region_rtt.csv")
    reg = load_cloud_regions().set_index("region")
    a, b = reg.loc[rtt["region_a"]], reg.loc[rtt["region_b"]]
    rtt["distance_km"] = haversine_km(a["lat"].to_numpy(), a["lon"].to_numpy(),
                                      b["lat"].to_numpy(), b["lon"].to_numpy())
    rtt["floor_ms"] = rtt_floor_ms(rtt["distance_km"].to_numpy())
    return rtt


def region_rtt_matrix() -> pd.DataFrame:
    """The inter-region RTTs as a symmetric square table (ms), zero on the diagonal."""
    rtt = _read("region_rtt.csv")
    regions = load_cloud_regions()["region"].tolist()
    m = pd.DataFrame(np.nan, index=regions, columns=regions)
    for a, b, v in rtt[["region_a", "region_b", "rtt_ms"]].itertuples(index=False):
        m.loc[a, b] = m.loc[b, a] = v
    for r in regions:
        m.loc[r, r] = 0.0
    return m


def route_factors() -> pd.Series:
    """Measured RTT divided by the fibre floor for every region pair (the effective route factor)."""
    rtt = load_region_rtt()
    return pd.Series((rtt["rtt_ms"] / rtt["floor_ms"]).to_numpy(),
                     index=pd.MultiIndex.from_frame(rtt[["region_a", "region_b"]]), name="route_factor")


def nearest_datacenter(user_lat, user_lon, dc_lat, dc_lon, *, route_factor: float = 1.0,
                       weights=None) -> tuple[np.ndarray, np.ndarray, float]:
    """Each user's nearest of ``k`` data centers and the RTT floor to it.

    .. math:: \\mathrm{RTT}_u = \\min_{j} \\frac{2 r\\, D(u, j)}{v}

    Parameters
    ----------
    user_lat, user_lon : array
        User (city) coordinates in degrees.
    dc_lat, dc_lon : array
        Data-center coordinates in degrees (k >= 1 of them).
    route_factor : float
        :math:`r \\ge 1`.
    weights : array, optional
        Users per location for the mean (default equal).

    Returns
    -------
    (index, rtt_ms, mean_rtt_ms)
        Index of the nearest data center per user, its RTT in ms, and the
        (weighted) mean RTT.
    """
    ula, ulo = check_coordinates(user_lat, user_lon, "user_lat", "user_lon")
    dla, dlo = check_coordinates(dc_lat, dc_lon, "dc_lat", "dc_lon")
    d = np.asarray(haversine_km(ula[:, None], ulo[:, None], dla[None, :], dlo[None, :]))
    idx = d.argmin(axis=1)
    rtt = np.asarray(rtt_floor_ms(d[np.arange(len(ula)), idx], route_factor))
    w = np.ones_like(rtt) if weights is None else np.asarray(check_nonnegative(weights, "weights"), dtype=float)
    if w.shape != rtt.shape or w.sum() <= 0:
        raise ValueError("weights must have one non-negative value per user location, not all zero")
    return idx, rtt, float(np.sum(w * rtt) / w.sum())


def user_rtt_ms(distance_km, route_factor: float = 1.0, last_mile_ms: float = 20.0):
    """Round trip from a user's device to a server: the fibre path plus the access network.

    .. math:: \\mathrm{RTT} = \\frac{2\\,r\\,D}{v} + \\mathrm{RTT}_{\\text{last mile}}

    The last mile (home router, cable or DSL line, mobile radio, the access
    provider's first routers) is paid on every round trip whatever the
    distance: fixed broadband adds of the order of 10-30 ms (fibre lowest, DSL
    highest), mobile networks more.

    Parameters
    ----------
    distance_km : float or array
        Great-circle distance :math:`D` to the server, in [0, 10^6] km.
    route_factor : float
        :math:`r` in [1, 1000] (see :func:`rtt_floor_ms`).
    last_mile_ms : float
        Access round trip in [0, 10^4] ms.

    References
    ----------
    Federal Communications Commission, *Thirteenth Measuring Broadband America
    Fixed Broadband Report*, 2024 (latency by access technology).
    """
    d = check_in_range(distance_km, "distance_km", 0.0, 1e6)
    r = check_in_range(route_factor, "route_factor", 1.0, 1e3, scalar=True)
    extra = check_in_range(last_mile_ms, "last_mile_ms", 0.0, 1e4, scalar=True)
    return scalar_or_array(np.asarray(rtt_floor_ms(d, r)) + float(extra))
