// Explorer figures (scaling_lab.explorer): every combination of slider positions is a
// precomputed plotly frame named "i-j-k". When a slider moves, show the frame matching all of
// them. Frames are applied with Plotly.update rather than Plotly.animate, whose internal
// promise chain leaves an unhandled rejection in the console.
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
  function show(gd, state) {
    var frames = (gd._transitionData && gd._transitionData._frameHash) || {};
    var frame = frames[state.join("-")];
    if (!frame) return;
    // Plotly keeps (and later edits) the objects it is given: hand it a copy of the frame.
    frame = JSON.parse(JSON.stringify({ data: frame.data, layout: frame.layout || {}, traces: frame.traces }));
    var traces = frame.traces || frame.data.map(function (_, i) { return i; });
    var update = {};
    frame.data.forEach(function (trace, n) {
      Object.keys(trace).forEach(function (key) {
        if (key === "type") return;
        if (!update[key]) update[key] = traces.map(function (i) { return gd.data[i][key]; });
        update[key][n] = trace[key];
      });
    });
    Plotly.update(gd, update, flatten(frame.layout), traces);
  }
  function wire(gd) {
    if (gd.dataset.explorerWired || !gd.layout || !gd.layout.meta || !gd.layout.meta.explorer) return;
    gd.dataset.explorerWired = "1";
    var state = (gd.layout.sliders || []).map(function (s) { return s.active || 0; });
    gd.on("plotly_sliderchange", function (event) {
      var k = gd._fullLayout.sliders.indexOf(event.slider);
      if (k < 0) k = event.slider._index;
      state[k] = event.step._index;
      // Let the slider finish its own redraw before the figure changes under it.
      setTimeout(function () { show(gd, state); }, 0);
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
