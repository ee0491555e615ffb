// Fit every plotly figure's top band to the width it is shown at (scaling_lab.presentation.plotting):
// the title wraps onto as many lines as the figure's width needs, the legend sits in its own band under
// the title, and the plot (with its subplot titles) starts under the legend. Runs after each draw
// (plotly_afterplot: first draw, a resize, an explorer frame) and changes the layout only through
// Plotly.relayout, and only when something would overlap or spill.
(function () {
  var GAP = 6;
  function box(el) { return el ? el.getBoundingClientRect() : null; }
  function visible(b) { return b && b.width > 0 && b.height > 0; }
  function titleText(gd) {
    var t = gd.layout.title;
    return typeof t === "string" ? t : (t && t.text) || "";
  }
  function wrap(text, chars) {
    var lines = [], line = "";
    text.split(/<br\s*\/?>/i).join(" ").split(/\s+/).forEach(function (word) {
      if (line && (line + " " + word).length > chars) { lines.push(line); line = word; }
      else { line = line ? line + " " + word : word; }
    });
    if (line) lines.push(line);
    return lines.join("<br>");
  }
  function fit(gd) {
    if (gd._fitting || !gd.layout) return;
    var fig = box(gd), update = {};
    var titleEl = gd.querySelector(".g-gtitle text, .gtitle");
    var title = box(titleEl);
    var text = titleText(gd);
    var source = text.replace(/<br\s*\/?>/gi, " ");
    if (gd.dataset.fitSource !== source) { gd.dataset.fitSource = source; gd.dataset.fitRounds = 0; }
    if (visible(title) && text) {
      var room = fig.width - 2 * GAP - 10;
      var flat = text.replace(/<br\s*\/?>/gi, " ");
      var perChar = title.width / Math.max(1, text.split(/<br\s*\/?>/i).reduce(function (m, l) { return Math.max(m, l.length); }, 0));
      var chars = Math.max(12, Math.floor(room / perChar));
      var wrapped = flat.length > chars ? wrap(flat, chars) : flat;
      if (wrapped !== text) update["title.text"] = wrapped;
    }
    if (visible(title) && title.top < fig.top + 2) {  // a wrapped title grows upwards: push it down
      var pad = (gd.layout.title && gd.layout.title.pad && gd.layout.title.pad.t) || 0;
      update["title.pad.t"] = Math.ceil(pad + fig.top + 4 - title.top);
    }
    var legendEl = gd.querySelector("g.legend");
    var legend = box(legendEl);
    var top = visible(title) ? title.bottom - fig.top + GAP : GAP;
    if (update["title.text"]) {
      var lines = update["title.text"].split("<br>").length, old = text.split(/<br\s*\/?>/i).length;
      top += (lines - old) * (title.height / Math.max(1, old));
    }
    var bandTop = top, need = top;
    if (visible(legend) && gd.layout.showlegend !== false) {
      var height = gd.layout.height || fig.height;
      update["legend.yref"] = "container";
      update["legend.yanchor"] = "top";
      update["legend.y"] = 1 - bandTop / height;
      need = bandTop + legend.height + GAP;
    }
    // Subplot titles and other annotations above the plot area need their band too.
    var plot = box(gd.querySelector(".nsewdrag"));
    var above = 0;
    gd.querySelectorAll("g.annotation").forEach(function (a) {
      var b = box(a);
      if (visible(b) && plot && b.bottom <= plot.top + 2 && b.top < plot.top) above = Math.max(above, plot.top - b.top);
    });
    need += above;
    var margin = (gd.layout.margin && gd.layout.margin.t) || 0;
    var figHeight = gd.layout.height || fig.height;
    if (Math.abs(need - margin) > 2) {
      // The plot keeps its height (explorer sliders sit at fractions of it): the figure grows or shrinks.
      update["margin.t"] = Math.ceil(need);
      update.height = Math.round(figHeight + Math.ceil(need) - margin);
    }
    // Axis titles wider than the figure wrap too.
    gd.querySelectorAll(".g-xtitle text, [class^='g-x'][class$='title'] text").forEach(function (t) {
      var b = box(t), axis = (t.parentNode.getAttribute("class") || "").match(/g-(x\d*)title/);
      if (!axis || !visible(b) || (b.left >= fig.left + GAP && b.right <= fig.right - GAP)) return;
      var centre = (b.left + b.right) / 2, room = 2 * Math.min(centre - fig.left, fig.right - centre) - 2 * GAP;
      var key = axis[1].replace("x", "xaxis"), spec = gd.layout[key] && gd.layout[key].title;
      var current = typeof spec === "string" ? spec : (spec && spec.text) || "";
      var longest = current.split(/<br\s*\/?>/i).reduce(function (m, l) { return Math.max(m, l.length); }, 1);
      var chars = Math.max(12, Math.floor(longest * room / b.width) - 1);
      update[key + ".title.text"] = wrap(current, chars);
    });
    // Explorer sliders: each one a fixed distance under the previous element, inside the figure.
    var plotBox = box(gd.querySelector(".nsewdrag"));
    var groups = gd.querySelectorAll("g.slider-group");
    if (plotBox && groups.length && gd.layout.sliders) {
      var below = plotBox.bottom;
      gd.querySelectorAll(".g-xtitle, [class^='g-x'][class$='title'], .xaxislayer-above").forEach(function (e) {
        var b = box(e);
        if (visible(b) && b.top >= plotBox.bottom - 2) below = Math.max(below, b.bottom);
      });
      var y = below + 2 * GAP;
      groups.forEach(function (g, k) {
        var b = box(g), s = gd.layout.sliders[k];
        if (!visible(b) || !s) return;
        var want = -(y - plotBox.bottom) / plotBox.height;
        if (Math.abs((s.y || 0) - want) * plotBox.height > 3) update["sliders[" + k + "].y"] = want;
        y += b.height + GAP;
      });
      var bottom = y - fig.top + GAP, total = update.height || figHeight;
      if (bottom > total + 2) {  // grow the figure and its bottom margin alike: the plot keeps its height
        var grow = Math.ceil(bottom - total);
        update.height = total + grow;
        update["margin.b"] = ((gd.layout.margin && gd.layout.margin.b) || 0) + grow;
      }
    }
    var changed = Object.keys(update).filter(function (k) {
      var path = k.replace(/\[(\d+)\]/g, ".$1").split("."), v = gd.layout;
      path.forEach(function (p) { v = v && v[p]; });
      return typeof update[k] === "number" ? Math.abs((v || 0) - update[k]) > 1e-3 : v !== update[k];
    });
    if (!changed.length) return;
    var n = +(gd.dataset.fitRounds || 0);
    if (n > 10) return;  // never loop
    gd.dataset.fitRounds = n + 1;
    gd._fitting = true;
    var subset = {};
    changed.forEach(function (k) { subset[k] = update[k]; });
    var done = function () {
      gd._fitting = false;
      if (gd.layout.height) {
        gd.style.height = gd.layout.height + "px";
        // plotly.io.to_html sizes the wrapping div to the first height; the figure is 100 % of it.
        if (gd.parentElement && gd.parentElement.style.height) gd.parentElement.style.height = gd.style.height;
      }
    };
    Plotly.relayout(gd, subset).then(done, done);
  }
  function wire(gd) {
    if (gd.dataset.fitWired || !gd.on) return;
    gd.dataset.fitWired = "1";
    gd.on("plotly_afterplot", function () { setTimeout(function () { fit(gd); }, 0); });
    window.addEventListener("resize", function () { gd.dataset.fitRounds = 0; });
    if (gd.layout) fit(gd);
  }
  function wireAll() { document.querySelectorAll(".plotly-graph-div").forEach(wire); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wireAll);
  else wireAll();
  window.addEventListener("load", wireAll);
})();
