import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaling_lab import cdn
from scaling_lab.cache import ttl_hit_ratio, zipf_popularity

SHARED, LOCAL = zipf_popularity(2_000, 0.8), zipf_popularity(500, 0.8)
SHARES = np.array([0.5, 0.3, 0.2])


def test_first_byte():
    direct, via = cdn.first_byte_ms([100.0, 200.0], [10.0, 20.0], [90.0, 150.0], 0.9, round_trips=3)
    assert np.allclose(direct, [300, 600])
    assert np.allclose(via, [30 + 9, 60 + 15])
    # Without hits the CDN still saves the handshakes: only one round trip reaches the origin.
    _, miss = cdn.first_byte_ms(100.0, 10.0, 90.0, 0.0, round_trips=3)
    assert miss == pytest.approx(120.0)


def test_one_edge_equals_one_central_cache():
    one = np.array([1.0])
    per_edge, offload = cdn.edge_hit_ratios(1_000, 600, one, SHARED, LOCAL, 0.3)
    assert offload == pytest.approx(cdn.central_hit_ratio(1_000, 600, one, SHARED, LOCAL, 0.3), rel=1e-12)
    assert per_edge[0] == pytest.approx(offload)


def test_offload_is_the_rate_weighted_mean_of_edge_hits():
    per_edge, offload = cdn.edge_hit_ratios(5_000, 3_600, SHARES, SHARED, LOCAL, 0.3)
    assert offload == pytest.approx(np.sum(SHARES * per_edge), rel=1e-12)
    # Independently: one object at one edge is the single-object TTL formula.
    rates = cdn.edge_request_rates(5_000, SHARES, SHARED, LOCAL, 0.3)
    assert rates[1][0] == pytest.approx(5_000 * 0.3 * 0.7 * SHARED[0])
    assert sum(r.sum() for r in rates) == pytest.approx(5_000)
    assert np.sum(rates[2] * ttl_hit_ratio(rates[2], 3_600)) / rates[2].sum() == pytest.approx(per_edge[2])


@given(st.floats(1, 1e5), st.floats(0, 1), st.floats(1, 1e5))
@settings(max_examples=40, deadline=None)
def test_pooling_and_monotonicity(ttl, locality, rate):
    _, offload = cdn.edge_hit_ratios(rate, ttl, SHARES, SHARED, LOCAL, locality)
    central = cdn.central_hit_ratio(rate, ttl, SHARES, SHARED, LOCAL, locality)
    assert 0 <= offload <= central + 1e-12 <= 1 + 1e-12  # one merged cache never hits less
    _, longer = cdn.edge_hit_ratios(rate, 2 * ttl, SHARES, SHARED, LOCAL, locality)
    assert longer >= offload - 1e-12


def test_bad_input():
    with pytest.raises(ValueError, match="edge_shares"):
        cdn.edge_hit_ratios(100, 60, [0.5, 0.6], SHARED, LOCAL, 0.3)
    with pytest.raises(ValueError, match="locality"):
        cdn.central_hit_ratio(100, 60, SHARES, SHARED, LOCAL, 1.5)
    with pytest.raises(ValueError, match="hit_ratio"):
        cdn.first_byte_ms(1, 1, 1, -0.1)
    with pytest.raises(ValueError, match="arrival_rate"):
        cdn.edge_request_rates(0, SHARES, SHARED, LOCAL, 0.3)
    with pytest.raises(ValueError, match="arrival_rate"):  # one total rate, shared by the edges
        cdn.edge_request_rates([100, 200], SHARES, SHARED, LOCAL, 0.3)
    with pytest.raises(ValueError, match="locality"):
        cdn.central_hit_ratio(100, 60, SHARES, SHARED, LOCAL, [0.3, 0.6])


# --- transfer cost -------------------------------------------------------------------------------
def test_cdn_cost_against_the_planner_tables_and_the_break_even_identity():
    from scaling_lab.planner.prices import tiered_transfer_cost

    # 1 req/s of 100 kB for a month is 263 GB: inside the first tiers, so the planner's tiered price agrees
    bill = cdn.cdn_monthly_cost(1.0, 0.9)
    assert bill.gb_per_month == pytest.approx(263.0, rel=1e-3)
    assert bill.origin_only_usd == pytest.approx(tiered_transfer_cost(bill.gb_per_month, "egress"))
    assert bill.cdn_delivery_usd == pytest.approx(tiered_transfer_cost(bill.gb_per_month, "cdn"))
    # at the break-even price the two bills are equal, below it the CDN saves, above it costs
    for h in (0.0, 0.5, 0.89, 1.0):
        c = cdn.cdn_break_even_usd_per_gb(h)
        assert c == pytest.approx(0.09 * h)
        even = cdn.cdn_monthly_cost(5000.0, h, cdn_usd_per_gb=max(c, 0.0))
        assert even.savings_usd == pytest.approx(0.0, abs=1e-6 * even.origin_only_usd)
        assert cdn.cdn_monthly_cost(5000.0, h, cdn_usd_per_gb=c + 0.01).savings_usd < 0
    # same-cloud origin (free fill): any CDN price below the egress price saves
    assert cdn.cdn_break_even_usd_per_gb(0.3, fill_usd_per_gb=0.0) == pytest.approx(0.09)


def test_cdn_cost_rejects_bad_prices_by_name():
    with pytest.raises(ValueError, match="cdn_usd_per_gb"):
        cdn.cdn_monthly_cost(10.0, 0.5, cdn_usd_per_gb=-1.0)
    with pytest.raises(ValueError, match="bytes_per_request"):
        cdn.cdn_monthly_cost(10.0, 0.5, bytes_per_request=0.0)
    with pytest.raises(ValueError, match="hit_ratio"):
        cdn.cdn_break_even_usd_per_gb(1.5)


def test_first_byte_round_trips_is_a_whole_number():
    with pytest.raises(ValueError, match="round_trips"):
        cdn.first_byte_ms(80.0, 10.0, 70.0, 0.5, round_trips=2.5)
    direct, _ = cdn.first_byte_ms(1e308, 10.0, 70.0, 0.5)
    assert direct == np.inf


def test_traffic_below_the_float_range_offloads_nothing_without_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        per_edge, offload = cdn.edge_hit_ratios(5e-324, 60, SHARES, SHARED, LOCAL, 0.3)
    assert offload == 0.0 and np.all(per_edge == 0.0)
