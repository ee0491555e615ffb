// Explorer figures (scaling_lab.presentation.explorer): every combination of slider positions is a
// precomputed frame named "i-j-k", kept in the figure's own layout.meta.explorer.frames. When a slider
// moves (plotly's public "plotly_sliderchange" event), show the frame matching all of them with
// Plotly.update. Only public plotly.js API is used: gd.layout, gd.data, gd.on, Plotly.update.
(function () {
  function flatten(layout) {
    // {xaxis: {range: r}} would replace the whole axis (and drop its title): use "xaxis.range".
    var out = {};
    Object.keys(layout || {}).forEach(function (key) {
      var value = layout[key];
      if (value && typeof value === "object" && !Array.isArray(value)) {
        Object.keys(value).forEach(function (sub) { out[key + "." + sub] = value[sub]; });
      } else {
        out[key] = value;
      }
    });
    return out;
  }
  function show(gd, frame) {
    if (!frame) return;
    // Plotly keeps (and later edits) the objects it is given: hand it a copy of the frame.
    frame = JSON.parse(JSON.stringify(frame));
    var traces = frame.data.map(function (_, i) { return i; });
    var update = {};
    frame.data.forEach(function (trace, n) {
      Object.keys(trace).forEach(function (key) {
        if (!update[key]) update[key] = traces.map(function (i) { return gd.data[i][key]; });
        update[key][n] = trace[key];
      });
    });
    Plotly.update(gd, update, flatten(frame.layout), traces);
  }
  function wire(gd) {
    var meta = gd.layout && gd.layout.meta;
    var explorer = meta && meta.explorer;
    if (gd.dataset.explorerWired || !explorer || !explorer.frames) return;
    gd.dataset.explorerWired = "1";
    var names = (gd.layout.sliders || []).map(function (s) { return s.name; });
    var state = (gd.layout.sliders || []).map(function (s) { return s.active || 0; });
    gd.on("plotly_sliderchange", function (event) {
      var k = names.indexOf(event.slider.name);
      if (k < 0) return;
      state[k] = event.slider.active;
      // Let the slider finish its own redraw before the figure changes under it.
      setTimeout(function () { show(gd, explorer.frames[state.join("-")]); }, 0);
    });
  }
  function wireAll() {
    document.querySelectorAll(".plotly-graph-div").forEach(function (gd) {
      if (gd.layout) { wire(gd); } else if (gd.on) { gd.on("plotly_afterplot", function () { wire(gd); }); }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wireAll);
  } else {
    wireAll();
  }
  window.addEventListener("load", wireAll);
})();
