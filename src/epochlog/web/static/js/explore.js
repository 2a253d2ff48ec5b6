// Scatter plot and parallel coordinates of any fields over any filter, in SVG. Brushing selects runs
// (a rectangle on the scatter, ranges on parallel axes); the selection goes to compare.
import { $, clear, h } from "./dom.js";
import { getJSON, initialData, query, showError } from "./api.js";
import { fmtTick } from "./format.js";

initialData();
const SVG = "http://www.w3.org/2000/svg";
const MAX_COMPARE = 10;
const params = new URLSearchParams(location.search);
const state = {
  x: params.get("x") || "config.learning_rate",
  y: params.get("y") || "metrics.best_val_loss",
  logx: params.get("logx") === "1",
  logy: params.get("logy") === "1",
  dims: params.get("dims") || "",
  filter: params.get("filter") || "",
};
let scatterData = null;
let parallelData = null;
const selection = new Set();
let brushes = {}; // parallel axis index -> [low, high] in data units (numbers) or positions (categories)

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  children.forEach((child) => el.append(child));
  return el;
}

// A scale for one field's values: numbers (linear or log; non-positive values dropped on log) or categories.
function scale(values, log, from, to) {
  const numbers = values.filter((v) => typeof v === "number" && (!log || v > 0));
  const categorical = values.some((v) => typeof v === "string");
  if (categorical) {
    const names = [...new Set(values.filter((v) => v != null).map(String))].sort();
    const step = (to - from) / Math.max(1, names.length);
    const at = (v) => (v == null ? null : from + step * (names.indexOf(String(v)) + 0.5));
    return { at, ticks: names.map((name) => [at(name), name]), invert: null, categorical: true };
  }
  if (!numbers.length) return { at: () => null, ticks: [], invert: null };
  const f = log ? Math.log10 : (v) => v;
  let lo = f(Math.min(...numbers));
  let hi = f(Math.max(...numbers));
  if (lo === hi) { lo -= 0.5; hi += 0.5; }
  const pad = (hi - lo) * 0.05;
  lo -= pad; hi += pad;
  const at = (v) => (typeof v !== "number" || (log && v <= 0) ? null : from + ((f(v) - lo) / (hi - lo)) * (to - from));
  const ticks = Array.from({ length: 5 }, (_, i) => lo + ((hi - lo) * (i + 0.5)) / 5)
    .map((t) => [from + ((t - lo) / (hi - lo)) * (to - from), fmtTick(log ? 10 ** t : t)]);
  const invert = (p) => { const t = lo + ((p - from) / (to - from)) * (hi - lo); return log ? 10 ** t : t; };
  return { at, ticks, invert };
}

// -- scatter ------------------------------------------------------------------------------------

function drawScatter() {
  const box = clear($("#scatter"));
  if (!scatterData) return;
  const width = Math.max(480, box.clientWidth || 720);
  const height = 380;
  const m = { left: 64, right: 16, top: 12, bottom: 40 };
  const xs = scatterData.rows.map((row) => row.values[0]);
  const ys = scatterData.rows.map((row) => row.values[1]);
  const sx = scale(xs, state.logx, m.left, width - m.right);
  const sy = scale(ys, state.logy, height - m.bottom, m.top);
  const plot = svg("svg", { width, height, class: "scatter", role: "img", "aria-label": "scatter plot" });
  plot.append(svg("line", { x1: m.left, x2: width - m.right, y1: height - m.bottom, y2: height - m.bottom, class: "axis" }));
  plot.append(svg("line", { x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom, class: "axis" }));
  for (const [p, label] of sx.ticks) plot.append(svg("text", { x: p, y: height - m.bottom + 16, class: "tick", "text-anchor": "middle" }, label));
  for (const [p, label] of sy.ticks) plot.append(svg("text", { x: m.left - 6, y: p + 4, class: "tick", "text-anchor": "end" }, label));
  plot.append(svg("text", { x: (m.left + width - m.right) / 2, y: height - 6, class: "label", "text-anchor": "middle" }, state.x));
  plot.append(svg("text", { x: 12, y: m.top + 4, class: "label" }, state.y));
  let shown = 0;
  scatterData.rows.forEach((row, i) => {
    const cx = sx.at(xs[i]);
    const cy = sy.at(ys[i]);
    if (cx == null || cy == null) return;
    shown += 1;
    const dot = svg("circle", { cx, cy, r: 4.5, class: `dot ${selection.has(row.id) ? "picked" : ""}`, "data-id": row.id },
      svg("title", {}, `${row.name ?? row.id}\n${state.x} = ${xs[i]}\n${state.y} = ${ys[i]}`));
    dot.addEventListener("click", () => toggle(row.id));
    plot.append(dot);
  });
  const missing = scatterData.rows.length - shown;
  $("#scatter-meta").textContent = `${shown} runs plotted${missing ? ` · ${missing} without both values` : ""}` +
    (scatterData.total > scatterData.rows.length ? ` · the newest ${scatterData.rows.length} of ${scatterData.total}` : "");
  const rect = svg("rect", { class: "brush", x: 0, y: 0, width: 0, height: 0 });
  plot.append(rect);
  plot.addEventListener("mousedown", (event) => {
    drag = { kind: "scatter", plot, rect, start: pointIn(plot, event) };
    event.preventDefault();
  });
  box.append(plot);
}

function pointIn(plot, event) {
  const b = plot.getBoundingClientRect();
  return [event.clientX - b.left, event.clientY - b.top];
}

// One drag at a time, on the scatter (a rectangle) or on a parallel axis (a range).
let drag = null;

function onMove(event) {
  if (!drag || drag.kind !== "scatter") return;
  const [x, y] = pointIn(drag.plot, event);
  const [x0, y0] = drag.start;
  Object.entries({ x: Math.min(x, x0), y: Math.min(y, y0), width: Math.abs(x - x0), height: Math.abs(y - y0) })
    .forEach(([key, value]) => drag.rect.setAttribute(key, String(value)));
}

function onUp(event) {
  if (!drag) return;
  const [x, y] = pointIn(drag.plot, event);
  const done = drag;
  drag = null;
  if (done.kind === "axis") {
    if (Math.abs(y - done.from) < 3) delete brushes[done.index];
    else brushes[done.index] = [Math.min(y, done.from), Math.max(y, done.from)];
    drawParallel();
    return;
  }
  done.rect.setAttribute("width", "0");
  const [x0, y0] = done.start;
  if (Math.abs(x - x0) <= 3 || Math.abs(y - y0) <= 3) return;
  const [left, right, top, bottom] = [Math.min(x, x0), Math.max(x, x0), Math.min(y, y0), Math.max(y, y0)];
  selection.clear();
  done.plot.querySelectorAll("circle.dot").forEach((dot) => {
    const cx = Number(dot.getAttribute("cx"));
    const cy = Number(dot.getAttribute("cy"));
    if (cx >= left && cx <= right && cy >= top && cy <= bottom) selection.add(dot.dataset.id);
  });
  refreshSelection();
}

// -- parallel coordinates -----------------------------------------------------------------------

function drawParallel() {
  const box = clear($("#parallel"));
  if (!parallelData || !parallelData.fields.length) return;
  const fields = parallelData.fields;
  const width = Math.max(480, box.clientWidth || 720);
  const height = 340;
  const m = { left: 40, right: 40, top: 28, bottom: 18 };
  const step = fields.length > 1 ? (width - m.left - m.right) / (fields.length - 1) : 0;
  const xs = fields.map((_, i) => m.left + step * i);
  const scales = fields.map((_, i) => scale(parallelData.rows.map((row) => row.values[i]), false, height - m.bottom, m.top));
  const plot = svg("svg", { width, height, class: "parallel", role: "img", "aria-label": "parallel coordinates" });
  const lines = svg("g");
  plot.append(lines);
  const kept = [];
  parallelData.rows.forEach((row) => {
    const points = row.values.map((v, i) => [xs[i], scales[i].at(v)]);
    if (points.some(([, y]) => y == null)) return;
    const inside = Object.entries(brushes).every(([i, [lo, hi]]) => points[i][1] >= lo && points[i][1] <= hi);
    if (inside) kept.push(row.id);
    lines.append(svg("polyline", { points: points.map((p) => p.join(",")).join(" "), class: `line ${inside ? "kept" : "out"}`, "data-id": row.id },
      svg("title", {}, row.name ?? row.id)));
  });
  fields.forEach((field, i) => {
    const axis = svg("g", { class: "paxis", "data-index": i });
    axis.append(svg("line", { x1: xs[i], x2: xs[i], y1: m.top, y2: height - m.bottom, class: "axis" }));
    axis.append(svg("text", { x: xs[i], y: 14, class: "label", "text-anchor": "middle" }, field.replace(/^(config|metrics)\./, "")));
    for (const [p, label] of scales[i].ticks) axis.append(svg("text", { x: xs[i] + 5, y: p + 4, class: "tick" }, label));
    const hit = svg("rect", { x: xs[i] - 10, y: m.top, width: 20, height: height - m.top - m.bottom, class: "axis-hit" });
    axis.append(hit);
    if (brushes[i]) axis.append(svg("rect", { x: xs[i] - 6, y: brushes[i][0], width: 12, height: brushes[i][1] - brushes[i][0], class: "range" }));
    hit.addEventListener("mousedown", (event) => {
      drag = { kind: "axis", plot, index: i, from: pointIn(plot, event)[1] };
      event.preventDefault();
    });
    plot.append(axis);
  });
  if (Object.keys(brushes).length) {
    selection.clear();
    kept.forEach((id) => selection.add(id));
    refreshSelection(false);
  }
  box.append(plot);
}

// -- selection ----------------------------------------------------------------------------------

function toggle(id) {
  if (selection.has(id)) selection.delete(id);
  else selection.add(id);
  refreshSelection();
}

function refreshSelection(redrawParallel = true) {
  const count = selection.size;
  $("#selection").textContent = count ? `${count} selected` : "";
  $("#clear-selection").hidden = count === 0;
  const compare = $("#compare");
  compare.disabled = count < 2 || count > MAX_COMPARE;
  compare.textContent = count >= 2 ? `Compare ${count}` : "Compare";
  compare.title = count > MAX_COMPARE ? `compare takes at most ${MAX_COMPARE}` : "select 2 to 10 runs";
  document.querySelectorAll("#scatter circle.dot").forEach((dot) => dot.classList.toggle("picked", selection.has(dot.dataset.id)));
  if (redrawParallel) document.querySelectorAll("#parallel polyline").forEach((line) => line.classList.toggle("picked", selection.has(line.dataset.id)));
}

// -- loading ------------------------------------------------------------------------------------

async function load() {
  const dims = state.dims.split(",").map((d) => d.trim()).filter(Boolean);
  const url = new URL(location.href);
  url.search = query({ x: state.x, y: state.y, logx: state.logx ? "1" : "", logy: state.logy ? "1" : "", dims: state.dims, filter: state.filter });
  history.replaceState(null, "", url);
  try {
    const [scatter, parallel] = await Promise.all([
      getJSON(`/api/explore${query({ fields: `${state.x},${state.y}`, filter: state.filter })}`),
      dims.length ? getJSON(`/api/explore${query({ fields: dims.join(","), filter: state.filter })}`) : null,
    ]);
    scatterData = scatter;
    parallelData = parallel;
    showError($("#explore-error"), null);
  } catch (error) {
    scatterData = null;
    parallelData = null;
    showError($("#explore-error"), error);
  }
  selection.clear();
  brushes = {};
  drawScatter();
  drawParallel();
  refreshSelection();
}

async function start() {
  let facets = { metrics: [], config: [] };
  try {
    facets = await getJSON("/api/facets");
  } catch (error) {
    showError($("#explore-error"), error);
  }
  const fields = [...facets.config.map((k) => `config.${k}`), ...facets.metrics.map((k) => `metrics.${k}`)];
  const list = clear($("#fields"));
  fields.forEach((field) => list.append(h("option", { value: field })));
  if (!params.has("x") && fields.length && !fields.includes(state.x)) state.x = fields.find((f) => f.startsWith("config.")) || fields[0];
  if (!state.dims) state.dims = [...fields.filter((f) => f.startsWith("config.")).slice(0, 4), state.y].join(",");
  Object.entries({ x: state.x, y: state.y, dims: state.dims, filter: state.filter }).forEach(([id, value]) => { $(`#${id}`).value = value; });
  $("#logx").checked = state.logx;
  $("#logy").checked = state.logy;
  $("#controls").addEventListener("submit", (event) => {
    event.preventDefault();
    Object.assign(state, { x: $("#x").value.trim(), y: $("#y").value.trim(), dims: $("#dims").value.trim(), filter: $("#filter").value.trim() });
    load();
  });
  for (const id of ["logx", "logy"]) {
    $(`#${id}`).addEventListener("change", (event) => { state[id] = event.target.checked; drawScatter(); refreshSelection(); });
  }
  $("#clear-selection").addEventListener("click", () => { selection.clear(); brushes = {}; drawParallel(); refreshSelection(); });
  window.addEventListener("mousemove", onMove);
  window.addEventListener("mouseup", onUp);
  $("#compare").addEventListener("click", () => { location.href = `/compare${query({ ids: [...selection].join(",") })}`; });
  await load();
}

start();
