import base64
import json

import numpy as np
import plotly.graph_objects as go
import pytest

from scaling_lab.presentation.explorer import Explorer, Slider, is_static


def draw(k, shift):
    x = np.linspace(0, 1, 50)
    y = k * x + shift
    y[0] = np.inf  # non-finite values become gaps
    return go.Figure(go.Scatter(x=x, y=y)).update_layout(title=f"k={k} shift={shift}", yaxis_range=[0, 10])


def test_static_figure_has_every_frame_and_one_slider_per_input():
    ex = Explorer(draw, [Slider("k", "Slope", [1, 2, 3], default=2), Slider("shift", "Shift", [0, 1], unit="m")])
    fig = ex.figure()
    explorer = fig.layout.meta["explorer"]
    assert not fig.frames  # the frames travel in layout.meta, read by explorer.js through plotly's public API
    assert len(explorer["frames"]) == 6
    assert [s.active for s in fig.layout.sliders] == [1, 1]
    assert explorer["inputs"] == ["k", "shift"] == [s.name for s in fig.layout.sliders]
    frame = explorer["frames"]["2-0"]
    assert frame["layout"]["title"]["text"] == "k=3 shift=0"
    # Only what changes is stored (y, not x), as float32 with gaps for inf, in plotly.js's typed-array form.
    assert "x" not in frame["data"][0]
    spec = frame["data"][0]["y"]
    assert spec["dtype"] == "f4"
    y = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.float32)
    assert np.isnan(y[0]) and y[-1] == pytest.approx(3.0)
    # The unit is shown once after the current value, not after every tick label.
    assert fig.layout.sliders[1].steps[1].label == "1"
    assert fig.layout.sliders[1].currentvalue.suffix == " m"
    assert json.loads(fig.to_json())["layout"]["meta"]["explorer"]["frames"]["2-0"]["data"][0]["y"] == spec


def test_inconsistent_draw_is_rejected():
    def bad(n):
        return go.Figure([go.Scatter(y=[1, 2])] * n)

    with pytest.raises(ValueError, match="traces"):
        Explorer(bad, [Slider("n", "N", [1, 2], default=1)]).figure()


def test_slider_validation():
    with pytest.raises(ValueError, match="at least 2"):
        Slider("a", "A", [1])
    with pytest.raises(ValueError, match="default"):
        Slider("a", "A", [1, 2], default=3)
    with pytest.raises(ValueError, match="unique"):
        Explorer(draw, [Slider("k", "K", [1, 2]), Slider("k", "K", [1, 2])])


@pytest.mark.parametrize("values", [[1, 2, np.nan], [1, 2, np.inf], np.ones((2, 3)), None, 5, 1j, True,
                                    object(), "abc", [1, "b"], [1, None], [1, 2j]])
def test_slider_refuses_a_grid_that_is_not_numbers_or_names(values):
    with pytest.raises((ValueError, TypeError), match="values"):
        Slider("a", "A", values)


def test_slider_format_takes_a_number_or_one_of_its_names():
    numeric, named = Slider("a", "A", [1, 2], unit="ms"), Slider("r", "R", ["us", "eu"])
    assert numeric.format(2) == "2 ms" and named.format("eu") == "eu"
    for bad in (np.nan, "2", None, [1, 2], 1j, True, object()):
        with pytest.raises((ValueError, TypeError), match="value"):
            numeric.format(bad)
    with pytest.raises(TypeError, match="value"):
        named.format(1.0)


def test_live_panel_redraws_and_reports_bad_input():
    ex = Explorer(draw, [Slider("k", "Slope", [1, 2, 3]), Slider("shift", "Shift", [0.0, 1.0])])
    panel = ex.panel()
    inputs = panel.children[0].children
    assert [w.value for w in inputs] == [2, 1.0]
    inputs[0].value = 7  # any value, not only the grid's


def test_static_mode_follows_environment(monkeypatch):
    monkeypatch.setenv("SCALING_LAB_STATIC", "1")
    assert is_static()
    monkeypatch.setenv("SCALING_LAB_STATIC", "0")
    assert not is_static()


def test_named_choices_become_a_dropdown():
    def by_name(region):
        return go.Figure(go.Bar(x=["a"], y=[len(region)]))

    ex = Explorer(by_name, [Slider("region", "Origin", ["us-east-1", "eu-west-1"], default="eu-west-1")])
    assert len(ex.figure().layout.meta["explorer"]["frames"]) == 2
    widget = ex.panel().children[0].children[0]
    assert widget.options == ("us-east-1", "eu-west-1") and widget.value == "eu-west-1"


def test_live_fields_show_their_value_and_step_by_the_grid():
    # A long label must not squeeze the number field: the field keeps the same width beside any label.
    ex = Explorer(draw, [Slider("k", "Highest utilization after failover", [1, 2, 3]),
                         Slider("shift", "Zipf skew alpha", [0.6, 0.7, 0.85, 1.0, 1.2], default=0.85)])
    fields = ex.panel().children[0].children
    widths = [int(w.layout.width.removesuffix("px")) - int(w.style.description_width.removesuffix("px"))
              for w in fields]
    assert widths[0] == widths[1] >= 100
    assert int(fields[0].style.description_width.removesuffix("px")) >= 7 * len("Highest utilization after failover")
    # Arrow keys step a decimal field by the grid's resolution (0.85 -> 0.9 -> 0.95), not by 1.
    assert fields[1].step == pytest.approx(0.05)
    assert Slider("a", "A", [0.6, 0.8, 1.0, 1.2]).step == pytest.approx(0.2)
    assert Slider("a", "A", [0.5, 0.9, 0.99]).step == pytest.approx(0.01)
    assert Slider("a", "A", [1.0, 1.6, 2.0]).step == pytest.approx(0.2)
    assert Slider("a", "A", [100.0, 1000.0]).step == pytest.approx(100.0)
    assert Slider("a", "A", ["x", "y"]).step is None
