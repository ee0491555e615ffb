import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab import geography as geo

lat = st.floats(-90, 90)
lon = st.floats(-180, 180)


def test_haversine_known_distances():
    quarter = np.pi * geo.EARTH_RADIUS_KM / 2
    assert geo.haversine_km(0, 0, 0, 90) == pytest.approx(quarter)
    assert geo.haversine_km(90, 0, -90, 0) == pytest.approx(2 * quarter)
    # London - New York, about 5570 km on the sphere
    assert geo.haversine_km(51.51, -0.13, 40.71, -74.01) == pytest.approx(5570, rel=0.005)


@settings(max_examples=60, deadline=None)
@given(lat, lon, lat, lon, lat, lon)
def test_haversine_is_a_metric(a1, o1, a2, o2, a3, o3):
    d12, d21 = geo.haversine_km(a1, o1, a2, o2), geo.haversine_km(a2, o2, a1, o1)
    assert d12 == pytest.approx(d21, abs=1e-6)
    assert 0 <= d12 <= np.pi * geo.EARTH_RADIUS_KM + 1e-6
    assert d12 <= geo.haversine_km(a1, o1, a3, o3) + geo.haversine_km(a3, o3, a2, o2) + 1e-6


def test_rtt_floor():
    # 1000 km of fibre there and back: 2000 km at ~204 km/ms
    assert geo.rtt_floor_ms(1000.0) == pytest.approx(2000 / 204.2, rel=1e-3)
    assert geo.rtt_floor_ms(1000.0, 1.5) == pytest.approx(1.5 * geo.rtt_floor_ms(1000.0))
    with pytest.raises(ValueError, match="route_factor"):
        geo.rtt_floor_ms(10.0, 0.9)
    with pytest.raises(ValueError, match="lat1"):
        geo.haversine_km(91, 0, 0, 0)


def test_city_table():
    cities = geo.load_cities()
    assert list(cities.columns) == ["name", "country", "region", "lat", "lon"]
    assert 30 <= len(cities) <= 60 and cities["name"].is_unique
    assert cities["lat"].between(-90, 90).all() and cities["lon"].between(-180, 180).all()
    assert set(cities["region"]) >= {"North America", "South America", "Europe", "Africa", "Asia", "Oceania"}


def test_measured_rtts_respect_the_speed_of_light():
    rtt = geo.load_region_rtt()
    assert len(rtt) == 9 * 8 // 2
    ratio = rtt["rtt_ms"] / rtt["floor_ms"]
    # physics: no measured RTT beats light in fibre along the great circle; routes add < 3x
    assert (ratio > 1.0).all() and (ratio < 3.0).all()
    assert 1.3 < geo.route_factors().median() < 2.0
    m = geo.region_rtt_matrix()
    assert np.allclose(m.to_numpy(), m.to_numpy().T) and not m.isna().any().any()


def test_nearest_datacenter():
    cities = geo.load_cities()
    regions = geo.load_cloud_regions()
    ula, ulo = cities["lat"].to_numpy(), cities["lon"].to_numpy()
    idx, rtt, mean1 = geo.nearest_datacenter(ula, ulo, [39.04], [-77.49])
    assert (idx == 0).all()
    idx3, rtt3, mean3 = geo.nearest_datacenter(ula, ulo, regions["lat"], regions["lon"], route_factor=1.5)
    # brute force nearest
    d = np.array([[geo.haversine_km(a, o, b, p) for b, p in zip(regions["lat"], regions["lon"])]
                  for a, o in zip(ula, ulo)])
    assert np.array_equal(idx3, d.argmin(axis=1))
    assert rtt3 == pytest.approx(geo.rtt_floor_ms(d.min(axis=1), 1.5))
    assert mean3 < 1.5 * mean1 / 2  # nine regions beat one, even with the route factor
    # a data center in every city: zero RTT
    _, rtt0, mean0 = geo.nearest_datacenter(ula, ulo, ula, ulo)
    assert mean0 == 0.0
    w = np.zeros(len(ula))
    w[0] = 1.0
    assert geo.nearest_datacenter(ula, ulo, [0.0], [0.0], weights=w)[2] == pytest.approx(
        geo.rtt_floor_ms(geo.haversine_km(ula[0], ulo[0], 0.0, 0.0)))


def test_user_rtt_adds_the_last_mile_to_the_fibre_path():
    d = np.array([0.0, 1000.0, 10_000.0])
    assert np.allclose(geo.user_rtt_ms(d, 1.5, last_mile_ms=20.0) - geo.rtt_floor_ms(d, 1.5), 20.0)
    assert geo.user_rtt_ms(0.0, last_mile_ms=0.0) == 0.0
    # every measured inter-region RTT exceeds its floor plus no last mile, as the data test demands
    with pytest.raises(ValueError, match="last_mile_ms"):
        geo.user_rtt_ms(1.0, last_mile_ms=-1.0)


def test_rtt_floor_when_an_intermediate_product_leaves_the_float_range():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # 2 d overflows, 2 d / v does not: the exact value, not inf
        assert geo.rtt_floor_ms(1e308) == pytest.approx(2.0 * (1e308 / geo.FIBRE_SPEED_KM_PER_MS), rel=1e-12)
        assert geo.rtt_floor_ms(1e308, 1e10) == np.inf
        assert geo.rtt_floor_ms(0.0) == 0.0
        # 2 r overflows at distance 0 (inf * 0): a user on the site still has no distance to cover
        at_site, one_km = geo.rtt_floor_ms(np.array([0.0, 1.0]), 1e308)
        assert at_site == 0.0 and one_km == pytest.approx(2.0 * (1e308 / geo.FIBRE_SPEED_KM_PER_MS), rel=1e-12)
