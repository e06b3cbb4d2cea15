/* fluxwise: a plot's legend beside it when the plot is wide, below it when it is narrow (a phone), the
   plot's box growing by the legend's height so that neither legend nor axes are cut off.
   Used by the workbench pages (served as /static/plot-legends.js) and embedded in the reports. */
(function (root) {
  "use strict";
  var NARROW = 640;

  /* The element whose height holds the plot: plotly's wrapper in a report, the plot itself in a page. */
  function holder(gd) {
    var parent = gd.parentElement;
    return parent && parent.style.height && gd.style.height === "100%" ? parent : gd;
  }

  function fit(gd) {
    var Plotly = root.Plotly, full = gd._fullLayout;
    if (!Plotly || !full || !full.showlegend) return Promise.resolve();
    if (!gd.dataset.baseHeight) gd.dataset.baseHeight = String(full.height);
    var base = Number(gd.dataset.baseHeight), narrow = gd.clientWidth < NARROW;
    if (gd.dataset.legendBelow === String(narrow)) return Promise.resolve();
    gd.dataset.legendBelow = String(narrow);
    var legend = narrow
      ? { "legend.orientation": "h", "legend.yref": "container", "legend.y": 0, "legend.yanchor": "bottom",
          "legend.x": 0, "legend.xanchor": "left" }
      : { "legend.orientation": "v", "legend.yref": "paper", "legend.y": 1, "legend.yanchor": "auto",
          "legend.x": 1.02, "legend.xanchor": "left" };
    return Plotly.relayout(gd, legend).then(function () {
      var height = narrow ? base + Math.ceil(gd._fullLayout.legend._height || 0) : base;
      holder(gd).style.height = height + "px";
      return Plotly.relayout(gd, { height: height });
    });
  }

  function fitAll() {
    var plots = root.document.querySelectorAll(".js-plotly-plot");
    return Promise.all(Array.prototype.map.call(plots, fit));
  }

  var timer = null;
  root.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(fitAll, 150);
  });
  root.fluxwisePlots = { fit: fit, fitAll: fitAll };
})(window);
