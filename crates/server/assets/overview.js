// The overview's charts (served by fieldcheck-server at /dashboard/static/overview.js). The
// server renders the figures twice: as tables, and as JSON in #overview-data, which this
// script draws with Apache ECharts' SVG renderer (crisp on paper). Without script the tables
// stay; with it, body.charts-on shows the charts (and print shows both).
(function () {
  "use strict";
  var data = document.getElementById("overview-data");
  if (!data || typeof echarts === "undefined") return;
  var charts = JSON.parse(data.textContent);
  var drawn = [];
  // Show the containers first, so each chart is drawn at its container's size.
  document.body.classList.add("charts-on");
  charts.forEach(function (c) {
    var el = document.getElementById(c.id);
    if (!el) return;
    var names = { type: "category", data: c.categories, axisTick: { alignWithLabel: true } };
    var values = { type: "value", minInterval: 1 };
    if (c.horizontal) {
      names.inverse = true;
      names.axisLabel = { width: 160, overflow: "truncate" };
    } else {
      names.axisLabel = { hideOverlap: true };
    }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, sans-serif" },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 16, right: 40, top: 32, bottom: 8, containLabel: true },
      xAxis: c.horizontal ? values : names,
      yAxis: c.horizontal ? names : values,
      series: c.series.map(function (s) {
        return {
          name: s.name,
          type: c.kind,
          data: s.data,
          itemStyle: { color: s.color },
          barMaxWidth: 22,
          lineStyle: { color: s.color, width: 2 },
          label: {
            show: c.kind === "bar",
            position: c.horizontal ? "right" : "top",
            formatter: function (p) { return p.value ? String(p.value) : ""; }
          }
        };
      })
    });
    drawn.push(chart);
  });
  function resize() {
    drawn.forEach(function (chart) { chart.resize(); });
  }
  window.addEventListener("resize", resize);
  window.addEventListener("beforeprint", resize);
  window.addEventListener("afterprint", resize);
})();
