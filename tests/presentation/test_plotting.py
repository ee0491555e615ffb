import plotly.io as pio

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
