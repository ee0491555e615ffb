def test_moments_past_the_float_range_are_infinite_not_an_error():
    import scaling_lab as sl

    for d in (sl.Exponential(1e308), sl.Gamma(1e308, 0.5), sl.LogNormal(1e308, 2.0)):
        assert d.variance == float("inf") and d.second_moment == float("inf")
    assert sl.Deterministic(1e308).variance == 0.0
