"""One plot style for the whole book, and a plotly renderer that works on the static site.

Call :func:`setup` once at the top of a notebook.  It

* registers the ``scaling_lab`` plotly template (fonts, colours, margins that
  read well at phone width and in light and dark themes) and makes it the
  default;
* makes every ``fig.show()`` / displayed figure emit two representations:
  ``application/vnd.plotly.v1+json`` (rendered natively by JupyterLab) and a
  ``text/html`` fragment that the Jupyter Book site renders with the
  ``plotly.min.js`` it ships once per page.  No plotly.js is inlined and no
  CDN is contacted.
"""

from __future__ import annotations

import itertools

import numpy as np

import plotly.graph_objects as go
import plotly.io as pio
from plotly.io.base_renderers import MimetypeRenderer

from ..core.validation import (MAX_COUNT, check_finite, check_in_range, check_integer, check_invertible,
                               check_open_probability)

__all__ = ["setup", "COLORS", "TEMPLATE_NAME", "RENDERER_NAME", "latency_vs_load_figure", "slo_line"]

TEMPLATE_NAME = "scaling_lab"
RENDERER_NAME = "scaling_lab_html"

#: Colour-blind safe palette (Okabe & Ito, 2008), readable on light and dark backgrounds.
COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

_ids = itertools.count(1)


class StaticHTMLRenderer(MimetypeRenderer):
    """Emit a ``text/html`` fragment that relies on a page-level ``plotly.min.js``.

    Div ids are deterministic (``fig-1``, ``fig-2``...) so a re-executed
    notebook gives byte-identical output.
    """

    def to_mimebundle(self, fig_dict):
        html = pio.to_html(
            fig_dict,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            div_id=f"fig-{next(_ids)}",
            default_width="100%",
            auto_play=False,
            # No mode bar: on a phone it covers the title; dragging zooms, a double click resets.
            config={"responsive": True, "displaylogo": False, "displayModeBar": False},
        )
        return {"text/html": html}


def _template() -> go.layout.Template:
    # Top of every figure, from the edge down: the title (its own band, left-aligned, wrapped to the
    # width by book/_static/figure-fit.js on the site), the legend in one band under it, then the plot
    # (subplot titles sit at its top edge). The mode bar is off on the site (see StaticHTMLRenderer),
    # so nothing shares the title's band.
    return go.layout.Template(layout=dict(
        font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=14),
        colorway=COLORS,
        title=dict(x=0, xref="container", xanchor="left", y=1, yref="container", yanchor="top",
                   pad=dict(t=10, l=10), font=dict(size=16), automargin=True),
        margin=dict(l=60, r=20, t=90, b=55, autoexpand=True),
        hovermode="x unified",
        legend=dict(orientation="h", yref="paper", yanchor="bottom", y=1.02, xanchor="left", x=0,
                    font=dict(size=12)),
        xaxis=dict(showline=True, mirror=False, ticks="outside", zeroline=False, automargin=True),
        yaxis=dict(showline=True, mirror=False, ticks="outside", zeroline=False, automargin=True),
        height=420,
    ))


def setup() -> None:
    """Register the book's template and renderer and make them the defaults."""
    # Merge once: a "a+b" default would be re-merged by every go.Figure() (~30 ms each).
    pio.templates[TEMPLATE_NAME] = pio.templates.merge_templates(pio.templates["plotly_white"], _template())
    pio.templates.default = TEMPLATE_NAME
    pio.renderers[RENDERER_NAME] = StaticHTMLRenderer()
    pio.renderers.default = f"plotly_mimetype+{RENDERER_NAME}"


def slo_line(y: float, label: str) -> dict:
    """Layout entries for a dashed horizontal target line across the plot with its label.

    Pass to ``fig.update_layout(**slo_line(...))``; much cheaper than ``fig.add_hline``
    (which costs ~70 ms a figure), so explorers can redraw hundreds of frames.
    ``y`` is one finite number in the units of the y axis; ``label`` a string.
    """
    y = check_finite(y, "y", scalar=True)
    if not isinstance(label, str):
        raise TypeError(f"label must be a string, got {label!r}")
    return dict(
        shapes=[dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=y, y1=y,
                     line=dict(color=COLORS[3], dash="dash", width=2))],
        annotations=[dict(xref="paper", x=0, yref="y", y=y, text=label, showarrow=False,
                          xanchor="left", yanchor="bottom")],
    )


MAX_POINTS = 10_000
"""Most rates :func:`latency_vs_load_figure` draws (a judgement: more than a screen's pixels)."""

_MAX_MS = float(np.finfo(float).max)  # the largest SLO in milliseconds: slo_s at most this / 1000


def latency_vs_load_figure(service_time_s: float, servers: int, *, slo_s: float | None = None,
                           quantile: float = 0.99, points: int = 120) -> go.Figure:
    """Mean and quantile response time of an M/M/c server against its request rate.

    The x axis runs from 0 to 99.5 % of capacity :math:`c/S`; the SLO, when
    given, is drawn as a horizontal line.  Times are shown in milliseconds.
    ``points`` (the rates drawn) is at least 2 and at most :data:`MAX_POINTS`.
    """
    from ..queueing import MMc

    service_time_s = check_invertible(service_time_s, "service_time_s", scalar=True)
    servers = check_integer(servers, "servers", minimum=1, maximum=MAX_COUNT, scalar=True)
    if not np.isfinite(servers / service_time_s):
        raise ValueError(f"servers / service_time_s (the capacity, requests per second) must be finite, got "
                         f"{servers} / {service_time_s:g}")
    if slo_s is not None:
        slo_s = check_in_range(slo_s, "slo_s", 0.0, _MAX_MS / 1e3, low_open=True, scalar=True)
    quantile = check_open_probability(quantile, "quantile", scalar=True)
    points = check_integer(points, "points", minimum=2, maximum=MAX_POINTS, scalar=True)

    capacity = servers / service_time_s
    rate = np.linspace(capacity / points, 0.995 * capacity, points)
    model = MMc(rate, 1.0 / service_time_s, servers)
    with np.errstate(over="ignore"):  # times whose milliseconds pass the float range are inf (off the plot)
        mean_ms, quantile_ms = 1e3 * model.mean_response, 1e3 * model.response_quantile(quantile)
    fig = go.Figure()
    fig.add_scatter(x=rate, y=mean_ms, name="mean", hovertemplate="%{y:.0f} ms")
    fig.add_scatter(x=rate, y=quantile_ms, name=f"p{100 * quantile:g}", hovertemplate="%{y:.0f} ms")
    if slo_s is not None:
        fig.update_layout(**slo_line(1e3 * slo_s, f"SLO {1e3 * slo_s:g} ms"))
    fig.update_layout(xaxis_title="Request rate (req/s)", yaxis_title="Response time (ms)",
                      yaxis_range=[0, 1e3 * (3 * slo_s if slo_s else 10 * service_time_s)])
    return fig
