// Loaded before plotly.min.js: keep plotly away from the page's MathJax (labels use plain text).
window.PlotlyConfig = { MathJaxConfig: "local" };
