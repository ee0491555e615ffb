"""Explorers: one declaration, two faces.

A chapter declares an explorer once, as a function that draws a figure from a
few named inputs and a grid of values for each input::

    ex = Explorer(draw, [Slider("servers", "Workers", [1, 2, 4, 8], default=4),
                         Slider("service_ms", "Service time", [5, 10, 20], default=10, unit="ms")])
    ex.show()

* In Jupyter (a live kernel) ``show()`` displays an ipywidgets panel whose
  numeric inputs accept *any* value (named choices become a drop-down),
  redrawing the figure on every change.
* On the static website (the book is built with ``SCALING_LAB_STATIC=1``)
  ``show()`` displays a plotly figure with one slider per input over the
  precomputed grid.  It needs no kernel: ``book/_static/explorer.js`` (loaded
  on every page) listens to plotly's ``plotly_sliderchange`` event and shows
  the frame matching all sliders' positions.

The frames travel in the figure's own ``layout.meta`` (plotly passes it
through untouched), so the page script needs nothing but plotly's public API.
A frame stores only what changes between grid points (usually ``y``), as
float32 typed arrays in plotly's ``{dtype, bdata}`` form, to keep pages light.
"""

from __future__ import annotations

import base64
import itertools
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import plotly.graph_objects as go

from ..core.validation import check_finite, check_number

__all__ = ["Slider", "Explorer", "is_static"]


def is_static() -> bool:
    """True while the book is being built for the static website."""
    return os.environ.get("SCALING_LAB_STATIC", "") not in ("", "0")


@dataclass(frozen=True)
class Slider:
    """One input of an explorer.

    Parameters
    ----------
    name : str
        Keyword passed to the draw function.
    label : str
        Human label, shown before the value (the unit is appended).
    values : sequence
        Grid of values precomputed for the website: at least two finite real
        numbers, or at least two names (strings, shown as a drop-down).
    default : value, optional
        Initial value (defaults to the middle of ``values``).
    unit : str
        Unit shown after the value (``"ms"``, ``"req/s"``).
    """

    name: str
    label: str
    values: Sequence[Any]
    default: Any = None
    unit: str = ""
    fmt: str = "{:g}"

    def __post_init__(self):
        values = self.values
        what = f"values of slider {self.name!r} must be a sequence of numbers or of names"
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or not hasattr(values, "__getitem__"):
            raise TypeError(f"{what}, got {values!r}")
        if isinstance(values, np.ndarray) and values.ndim != 1:
            raise ValueError(f"{what} (one dimension), got an array of shape {values.shape}")
        if len(values) < 2:
            raise ValueError(f"values of slider {self.name!r} must hold at least 2 points, got {len(values)}")
        if not all(isinstance(v, str) for v in values):  # a grid of numbers: each finite and real
            check_finite(values, "values")
        if self.default is None:
            object.__setattr__(self, "default", self.values[len(self.values) // 2])
        if self.default not in list(self.values):
            raise ValueError(f"default of slider {self.name!r} must be one of its values, got {self.default!r}")

    @property
    def default_index(self) -> int:
        return list(self.values).index(self.default)

    @property
    def is_numeric(self) -> bool:
        return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                   for v in self.values)

    @property
    def is_integer(self) -> bool:
        return all(isinstance(v, (int, np.integer)) for v in self.values)

    def describe(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def format(self, value) -> str:
        """``value`` with the slider's format and unit: a number for a numeric slider, a name for named choices."""
        if not self.is_numeric:
            if not isinstance(value, str):
                raise TypeError(f"value of slider {self.name!r} must be one of its names (a string), got {value!r}")
            return f"{value} {self.unit}".strip()
        check_number(value, "value", scalar=True)
        text = self.fmt.format(value)
        return f"{text} {self.unit}".strip()

    @property
    def step(self) -> float | None:
        """Arrow-key step of the live number field: the largest 1, 2 or 5 × 10^k dividing every value.

        0.6 … 1.2 steps by 0.1, 0.85 and 1.0 by 0.05, integers by 1 or more; values
        that share no such step (0.333…) fall back to the power of ten below
        their smallest gap.  ``None`` for named choices.
        """
        if not self.is_numeric:
            return None
        v = np.unique(np.abs(np.asarray(self.values, dtype=float)))
        v = v[v > 0]
        gaps = np.diff(np.unique(np.asarray(self.values, dtype=float)))
        if not len(v) or not len(gaps):
            return 1.0
        gap = float(np.min(gaps))
        top = int(np.floor(np.log10(gap) + 1e-9))
        for k in range(top, top - 4, -1):
            for m in (5, 2, 1):
                step = m * 10.0 ** k
                ratio = v / step
                if step <= gap * (1 + 1e-9) and np.all(np.abs(ratio - np.round(ratio)) < 1e-6):
                    return float(f"{step:.12g}")
        return float(f"{10.0 ** top:.12g}")


def _clean(value):
    """Arrays as float32 with non-finite values turned into gaps (NaN)."""
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        arr = np.where(np.isfinite(arr), arr, np.nan).astype(np.float32)
        return arr
    return value


def _typed(value):
    """A float array as plotly.js's typed-array form ``{dtype: "f4", bdata: base64}``; anything else as is."""
    value = _clean(value)
    if isinstance(value, np.ndarray) and value.dtype == np.float32:
        return {"dtype": "f4", "bdata": base64.b64encode(value.tobytes()).decode("ascii")}
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _differs(a, b) -> bool:
    try:
        return not np.array_equal(np.asarray(a), np.asarray(b))
    except (TypeError, ValueError):
        return a != b


@dataclass
class Explorer:
    """A figure that depends on a few inputs, live in Jupyter and precomputed on the website.

    Parameters
    ----------
    draw : callable
        ``draw(**inputs) -> plotly.graph_objects.Figure``.  It must return the
        same number and types of traces for every input; the figure title may
        carry the headline answer ("p99 = 43 ms") and changes with the frame.
    sliders : list of Slider
        The inputs.  The website precomputes every combination, so keep the
        product of grid sizes modest (a few hundred frames at most).
    """

    draw: Callable[..., go.Figure]
    sliders: list[Slider]
    layout_keys: tuple[str, ...] = field(default=("title", "annotations", "shapes", "yaxis.range", "xaxis.range"))

    def __post_init__(self):
        names = [s.name for s in self.sliders]
        if len(set(names)) != len(names):
            raise ValueError(f"slider names must be unique, got {names}")
        if not self.sliders:
            raise ValueError("sliders must hold at least one Slider")

    @property
    def defaults(self) -> dict[str, Any]:
        return {s.name: s.default for s in self.sliders}

    # -- the website's face -------------------------------------------------
    def _frame_layout(self, fig: go.Figure) -> dict:
        full = fig.layout.to_plotly_json()
        out: dict = {}
        for key in self.layout_keys:
            head, _, tail = key.partition(".")
            if head not in full:
                continue
            if tail:
                if tail in full[head]:
                    out.setdefault(head, {})[tail] = full[head][tail]
            else:
                out[head] = full[head]
        return out

    def figure(self) -> go.Figure:
        """The static figure: the default view, one slider per input, every grid point's frame in ``layout.meta``."""
        base = self.draw(**self.defaults)
        base_traces = [t.to_plotly_json() for t in base.data]
        frames = {}
        grids = [range(len(s.values)) for s in self.sliders]
        for idx in itertools.product(*grids):
            values = {s.name: s.values[i] for s, i in zip(self.sliders, idx)}
            fig = base if all(i == s.default_index for s, i in zip(self.sliders, idx)) else self.draw(**values)
            if len(fig.data) != len(base_traces):
                raise ValueError(f"draw must return {len(base_traces)} traces for every input, "
                                 f"got {len(fig.data)} at {values}")
            data = []
            for trace, ref in zip(fig.data, base_traces):
                tj = trace.to_plotly_json()
                data.append({k: _typed(v) for k, v in tj.items() if k in ("x", "y", "text", "customdata", "name",
                                                                          "base", "width", "z")
                             and _differs(v, ref.get(k))})
            frames["-".join(map(str, idx))] = dict(data=data, layout=self._frame_layout(fig))

        fig = go.Figure(base)
        for trace in fig.data:
            for key in ("x", "y"):
                value = getattr(trace, key, None)
                if value is not None and np.asarray(value).dtype.kind == "f":
                    setattr(trace, key, _clean(value))
        n = len(self.sliders)
        height = (fig.layout.height or 420) + 85 * n
        top = fig.layout.margin.t if fig.layout.margin.t is not None else 60
        bottom = 55 + 85 * n
        plot_px = height - top - bottom
        sliders = []
        for k, s in enumerate(self.sliders):
            labels = [s.fmt.format(v) if not isinstance(v, str) else v for v in s.values]
            # The unit goes once after the current value, not after every tick label; the rail is
            # inset by half the longest label so the end labels are not cut by the figure's edge.
            inset = 4 * max(len(label) for label in labels) + 6
            steps = [dict(label=label, method="skip", args=[None]) for label in labels]
            sliders.append(dict(
                active=s.default_index, steps=steps, name=s.name,
                currentvalue=dict(prefix=f"{s.label}: ", suffix=f" {s.unit}" if s.unit else "", font=dict(size=13)),
                pad=dict(t=0, b=0, l=inset, r=inset), len=1.0, x=0, xanchor="left",
                y=-(50 + 85 * k) / plot_px, yanchor="top", font=dict(size=11),
            ))
        fig.update_layout(sliders=sliders, height=height, margin=dict(b=bottom),
                          meta=dict(explorer=dict(inputs=[s.name for s in self.sliders], frames=frames)))
        return fig

    # -- the live face ----------------------------------------------------------
    def panel(self):
        """An ipywidgets panel: free inputs (any value) and the figure, redrawn on change."""
        import ipywidgets as widgets
        from IPython.display import display

        inputs = {}
        for s in self.sliders:
            # The label gets the width its text needs (about 7.5 px a character at JupyterLab's 13 px),
            # and the field after it a fixed width that shows its value whatever the label's length.
            label_px = int(np.ceil(7.5 * len(s.describe()))) + 8
            field_px = 180 if not s.is_numeric else 110
            common = dict(value=s.default, description=s.describe(), style={"description_width": f"{label_px}px"},
                          layout=widgets.Layout(width=f"{label_px + field_px}px", margin="2px 16px 2px 0"))
            if s.is_numeric:
                cls = widgets.IntText if s.is_integer else widgets.FloatText
                inputs[s.name] = cls(**common) if s.is_integer else cls(step=s.step, **common)
            else:  # named choices (a region, a policy): pick one of them
                inputs[s.name] = widgets.Dropdown(options=list(s.values), **common)
        out = widgets.Output()

        def redraw(change=None):
            values = {name: w.value for name, w in inputs.items()}
            with out:
                out.clear_output(wait=True)
                try:
                    display(self.draw(**values))
                except ValueError as err:  # name the field the reader typed into; never print the values
                    typed = [s for s in self.sliders if change is not None and inputs[s.name] is change["owner"]]
                    where = f"{typed[0].label} = {typed[0].format(change['new'])}" if typed else "these values"
                    print(f"Cannot draw with {where}: {str(err).split(', got ')[0]}")

        for w in inputs.values():
            w.observe(redraw, names="value")
        redraw()
        return widgets.VBox([widgets.HBox(list(inputs.values()),
                                          layout=widgets.Layout(flex_flow="row wrap")), out])

    def show(self) -> None:
        """Display the live panel in Jupyter, or the slider figure when building the website."""
        from IPython.display import display

        display(self.figure() if is_static() else self.panel())
