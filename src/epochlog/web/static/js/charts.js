// Line charts on the vendored uPlot: drag to zoom, double-click to reset, hover legend with values,
// a log-scale toggle per chart. A chart may refine its data on zoom through `onView(min, max)`.
import { h } from "./dom.js";
import { fmtNum, fmtTick } from "./format.js";

/* global uPlot */

export const PALETTE = ["#2f6fdf", "#e8590c", "#2b8a3e", "#c2255c", "#7048e8", "#0b7285", "#b08900", "#5c7cfa",
  "#d6336c", "#495057"];

export function colorAt(index) {
  return PALETTE[index % PALETTE.length];
}

const AXIS = { stroke: "#667085", grid: { stroke: "#eef0f3", width: 1 }, ticks: { stroke: "#e3e6eb", width: 1 },
  font: "11px system-ui, sans-serif" };
const HEIGHT = 240;
// Epochs and steps are integers: ticks never fall between two of them.
const INTEGER_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500].flatMap((n) => [n, n * 1e3, n * 1e6]).sort((a, b) => a - b);

export class LineChart {
  // series: [{label, color, dash}], xLabel: "epoch" or "step", onView: async (min, max) => void (null = all),
  // bands: [[upper, lower, fill]] series indexes whose area between is filled (a mean's spread)
  constructor(parent, { title, xLabel = "epoch", series, log = false, onView = null, key = null, bands = [] }) {
    this.bands = bands;
    this.title = title;
    this.xLabel = xLabel;
    this.series = series;
    this.log = log;
    this.onView = onView;
    this.zoomed = false;
    this.xs = [];
    this.ys = series.map(() => []);
    this.meta = h("span", { class: "meta" });
    const toggle = h("input", { type: "checkbox", checked: log, onchange: (e) => this.setLog(e.target.checked) });
    this.plotEl = h("div", { class: "plot" });
    this.el = h("div", { class: "chart", dataset: { key: key ?? title, points: "0" } },
      h("div", { class: "chart-head" }, h("span", { class: "title", title, text: title }), this.meta,
        h("label", { title: "logarithmic y axis" }, toggle, "log")),
      this.plotEl);
    parent.append(this.el);
    this.plot = null;
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(this.el);
  }

  width() {
    return Math.max(240, this.plotEl.clientWidth || this.el.clientWidth - 20 || 480);
  }

  options() {
    const chart = this;
    const number = (u, value) => (value == null ? "–" : fmtNum(value));
    return {
      width: this.width(),
      height: HEIGHT,
      padding: [10, 12, 0, 2],
      cursor: {
        drag: { x: true, y: false, setScale: false },
        bind: { dblclick: () => null },
        points: { size: 7 },
      },
      legend: { live: true },
      scales: {
        x: { time: false },
        y: this.log ? { distr: 3, log: 10 } : { auto: true },
      },
      axes: [
        { ...AXIS, size: 34, incrs: INTEGER_INCRS, values: (u, splits) => splits.map(fmtTick) },
        { ...AXIS, size: 62, values: (u, splits) => splits.map(fmtTick) },
      ],
      series: [
        { label: this.xLabel, value: (u, value) => (value == null ? "–" : fmtNum(value)) },
        ...this.series.map((s) => ({ label: s.label, stroke: s.color, width: 1.75, dash: s.dash, value: number,
          spanGaps: Boolean(s.spanGaps), points: { size: 4, fill: s.color } })),
      ],
      bands: this.bands.map(([upper, lower, fill]) => ({ series: [upper + 1, lower + 1], fill })),
      hooks: {
        setSelect: [(u) => chart.zoomTo(u)],
      },
    };
  }

  render() {
    if (this.plot) this.plot.destroy();
    const data = this.plotData();
    this.plot = new uPlot(this.options(), data, this.plotEl);
    this.plot.over.addEventListener("dblclick", () => this.resetView());
    if (this.zoomed && this.view) this.plot.setScale("x", this.view);
  }

  plotData() {
    const ys = this.log ? this.ys.map((ys) => ys.map((v) => (v != null && v > 0 ? v : null))) : this.ys;
    return [this.xs, ...ys];
  }

  // xs: numbers in order; ys: one array per series, null for a gap.
  setData(xs, ys, { keepView = false } = {}) {
    this.xs = xs;
    this.ys = ys;
    let points = 0;
    for (const column of ys) for (const v of column) if (v != null) points += 1;
    this.el.dataset.points = String(points);
    if (!this.plot) {
      this.render();
      return;
    }
    const keep = keepView && this.zoomed;
    this.plot.setData(this.plotData(), !keep);
    if (keep && this.view) this.plot.setScale("x", this.view);
  }

  setMeta(text) {
    this.meta.textContent = text || "";
  }

  setLog(on) {
    this.log = on;
    this.render();
  }

  async zoomTo(u) {
    const select = u.select;
    if (!select || select.width < 3) return;
    const min = u.posToVal(select.left, "x");
    const max = u.posToVal(select.left + select.width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.zoomed = true;
    this.view = { min, max };
    u.setScale("x", this.view);
    if (this.onView) await this.onView(min, max);
  }

  async resetView() {
    this.zoomed = false;
    this.view = null;
    if (this.onView) await this.onView(null, null);
    if (this.plot && this.xs.length) {
      this.plot.setScale("x", { min: this.xs[0], max: this.xs[this.xs.length - 1] });
    }
  }

  resize() {
    if (this.plot) {
      const width = this.width();
      if (Math.abs(width - this.plot.width) > 2) this.plot.setSize({ width, height: HEIGHT });
    }
  }

  destroy() {
    this.resizer.disconnect();
    if (this.plot) this.plot.destroy();
    this.el.remove();
  }
}

// Several (x, y) series with different x values, aligned on the union of their xs (gaps where absent).
export function align(tables) {
  if (!tables.length) return [[]];
  return uPlot.join(tables.map(([xs, ys]) => [xs, ys]));
}

// Epoch metric names grouped so train_/val_ twins share a chart: {title, keys}.
export function groupMetrics(keys) {
  const groups = new Map();
  for (const key of keys) {
    const base = key.replace(/^(train|training|val|valid|validation|test|eval)[_/.]/i, "");
    if (!groups.has(base)) groups.set(base, []);
    groups.get(base).push(key);
  }
  return Array.from(groups, ([base, members]) => ({ title: members.length > 1 ? base : members[0], keys: members }));
}
