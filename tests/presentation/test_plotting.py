import warnings

import numpy as np
import plotly.io as pio
import pytest

from scaling_lab.presentation import plotting


def test_renderer_emits_html_without_plotlyjs_or_cdn():
    plotting.setup()
    assert pio.renderers.default == "plotly_mimetype+" + plotting.RENDERER_NAME
    fig = plotting.latency_vs_load_figure(0.04, 8, slo_s=0.25)
    html = plotting.StaticHTMLRenderer().to_mimebundle(fig.to_dict())["text/html"]
    assert "Plotly.newPlot" in html and 'id="fig-' in html
    assert "cdn" not in html.lower() and "<script src" not in html


def test_latency_figure_axes_and_slo():
    fig = plotting.latency_vs_load_figure(0.04, 8, slo_s=0.25)
    assert fig.layout.xaxis.title.text == "Request rate (req/s)"
    assert fig.layout.yaxis.title.text == "Response time (ms)"
    assert len(fig.data) == 2 and fig.layout.shapes[0].y0 == 250
    assert max(fig.data[0].x) < 200  # stays below capacity c/S


@pytest.mark.parametrize("kwargs, name", [
    ({"service_time_s": 0.0}, "service_time_s"), ({"service_time_s": np.inf}, "service_time_s"),
    ({"service_time_s": [0.01, 0.02]}, "service_time_s"), ({"servers": 2.5}, "servers"),
    ({"servers": 10**10}, "servers"), ({"servers": True}, "servers"), ({"quantile": 1.0}, "quantile"),
    ({"quantile": "0.99"}, "quantile"), ({"points": 1}, "points"), ({"points": 20.5}, "points"),
    ({"points": 2**63}, "points"), ({"slo_s": -1.0}, "slo_s"), ({"slo_s": 1e306}, "slo_s"),
    ({"service_time_s": 5e-324}, "service_time_s"), ({"service_time_s": 1e-308, "servers": 10**9}, "servers"),
])
def test_latency_figure_refuses_bad_input_by_name(kwargs, name):
    with pytest.raises(ValueError, match=name):
        plotting.latency_vs_load_figure(**{"service_time_s": 0.04, "servers": 8, **kwargs})


def test_latency_figure_times_past_the_float_range_are_inf():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plotting.latency_vs_load_figure(1e308, 4, points=20)
    assert np.all(np.isinf(fig.data[0].y)) and not np.any(np.isnan(fig.data[1].y))


@pytest.mark.parametrize("y", [np.nan, np.inf, None, "1", [1.0, 2.0], True])
def test_slo_line_refuses_a_bad_level(y):
    with pytest.raises(ValueError, match="^y must"):
        plotting.slo_line(y, "SLO")
    with pytest.raises(TypeError, match="label"):
        plotting.slo_line(1.0, 5)
