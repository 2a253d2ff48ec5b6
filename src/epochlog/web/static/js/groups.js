// Groups of runs (the same config over seeds or folds, or by fields): n, mean, sd, 95% CI, min, max, the best
// run; a group's learning curve as its mean with a band (± sd or min–max) over its runs.
import { $, clear, fillSelect, h } from "./dom.js";
import { experimentLink, getJSON, initialData, query, showError } from "./api.js";
import { fmtNum, lowerIsBetter, valueText } from "./format.js";
import { LineChart, colorAt } from "./charts.js";

initialData();
const params = new URLSearchParams(location.search);
const state = {
  kind: params.has("by") ? "by" : "except",
  keys: params.getAll("by").join(",") || params.get("except") || "seed",
  metric: params.get("metric") || "",
  mode: params.get("mode") || "",
  status: params.get("status") || "completed",
  filter: params.get("filter") || "",
};
let groups = [];
let chosen = null;
let chart = null;

function apiParams() {
  const keys = state.keys.split(",").map((key) => key.trim()).filter(Boolean);
  const grouping = state.kind === "by" ? { by: keys } : { except: keys.join(",") };
  return { ...grouping, metric: state.metric, mode: state.mode, status: state.status, filter: state.filter };
}

function flatten(value, prefix = "", out = {}) {
  if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
    for (const [key, item] of Object.entries(value)) flatten(item, prefix ? `${prefix}.${key}` : key, out);
  } else if (prefix) out[prefix] = value;
  return out;
}

// The key columns that tell groups apart (for "same config except", only the config keys that differ).
function keyColumns(rows) {
  const flats = rows.map((group) => flatten(group.group));
  const names = [...new Set(flats.flatMap((flat) => Object.keys(flat)))];
  const differs = (name) => new Set(flats.map((flat) => JSON.stringify(flat[name] ?? null))).size > 1;
  const shown = state.kind === "except" ? names.filter(differs) : names;
  return { flats, names: shown };
}

function render() {
  const table = $("#groups-table");
  const head = clear(table.querySelector("thead"));
  const body = clear(table.querySelector("tbody"));
  $("#groups-empty").hidden = groups.length > 0;
  if (!groups.length) return;
  const { flats, names } = keyColumns(groups);
  const label = (name) => (state.kind === "except" ? name.replace(/^config\./, "") : name);
  head.append(h("tr", {}, h("th", { text: "#" }), ...names.map((name) => h("th", { text: label(name) })),
    ...["n", "mean", "sd", "95% CI", "min", "max", "best", "excluded"].map((text) => h("th", { text }))));
  groups.forEach((group, index) => {
    const ci = group.ci95_low == null ? "—" : `[${fmtNum(group.ci95_low)}, ${fmtNum(group.ci95_high)}]`;
    const best = group.best && group.best._id ? experimentLink(group.best._id, group.best.experiment_name) : "—";
    const row = h("tr", { class: index === chosen ? "chosen" : "", dataset: { index: String(index) } },
      h("td", { class: "num", text: String(index + 1) }),
      ...names.map((name) => h("td", { text: valueText(flats[index][name]) })),
      h("td", { class: "num", text: String(group.n) }),
      h("td", { class: "num", text: group.mean == null ? "—" : fmtNum(group.mean) }),
      h("td", { class: "num", text: group.sd == null ? "—" : fmtNum(group.sd) }),
      h("td", { class: "num", text: ci }),
      h("td", { class: "num", text: group.min == null ? "—" : fmtNum(group.min) }),
      h("td", { class: "num", text: group.max == null ? "—" : fmtNum(group.max) }),
      h("td", {}, best),
      h("td", { class: "num", text: group.excluded ? String(group.excluded) : "" }));
    row.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      chosen = index;
      body.querySelectorAll("tr.chosen").forEach((tr) => tr.classList.remove("chosen"));
      row.classList.add("chosen");
      drawCurve();
    });
    body.append(row);
  });
}

async function drawCurve() {
  const group = groups[chosen];
  if (!group) return;
  const metric = $("#curve-metric").value.trim() || "val_loss";
  $("#curve-card").hidden = false;
  $("#curve-title").textContent = `Learning curve of group ${chosen + 1} (${group.experiment_ids.length} runs)`;
  let curve;
  try {
    curve = await getJSON(`/api/groups/curve${query({ ids: group.experiment_ids.join(","), metric })}`);
    showError($("#groups-error"), null);
  } catch (error) {
    showError($("#groups-error"), error);
    return;
  }
  if (chart) chart.destroy();
  chart = null;
  $("#curve-empty").hidden = curve.epochs.length > 0;
  if (!curve.epochs.length) return;
  const range = $("#band").value === "range";
  const upper = curve.mean.map((mean, i) => (range ? curve.max[i] : curve.sd[i] == null ? mean : mean + curve.sd[i]));
  const lower = curve.mean.map((mean, i) => (range ? curve.min[i] : curve.sd[i] == null ? mean : mean - curve.sd[i]));
  const color = colorAt(0);
  chart = new LineChart($("#curve-chart"), {
    title: metric, key: metric,
    series: [{ label: "mean", color }, { label: range ? "max" : "+sd", color: "#9db7ee", dash: [4, 3] },
      { label: range ? "min" : "−sd", color: "#9db7ee", dash: [4, 3] }],
    bands: [[1, 2, "rgba(47, 111, 223, 0.15)"]],
  });
  chart.setData(curve.epochs, [curve.mean, upper, lower]);
  chart.setMeta(`n per epoch: ${Math.min(...curve.n)}–${Math.max(...curve.n)}`);
}

async function load() {
  const url = new URL(location.href);
  url.search = query(apiParams());
  history.replaceState(null, "", url);
  try {
    const result = await getJSON(`/api/groups${query(apiParams())}`);
    groups = result.groups;
    showError($("#groups-error"), null);
  } catch (error) {
    groups = [];
    showError($("#groups-error"), error);
  }
  chosen = null;
  $("#curve-card").hidden = true;
  render();
}

async function start() {
  let facets = { metrics: [] };
  try {
    facets = await getJSON("/api/facets");
  } catch (error) {
    showError($("#groups-error"), error);
  }
  const metrics = facets.metrics.map((key) => `metrics.${key}`);
  if (!state.metric) state.metric = metrics.includes("metrics.best_val_loss") ? "metrics.best_val_loss" : metrics[0] || "metrics.best_val_loss";
  if (!metrics.includes(state.metric)) metrics.unshift(state.metric);
  if (!state.mode) state.mode = lowerIsBetter(state.metric) === false ? "max" : "min";
  fillSelect($("#metric"), metrics.map((m) => [m, m.replace(/^metrics\./, "")]), state.metric);
  Object.entries({ kind: state.kind, keys: state.keys, mode: state.mode, status: state.status, filter: state.filter })
    .forEach(([name, value]) => { $(`#${name}`).value = value; });
  const best = state.metric.match(/^metrics\.best_(.+)$/);
  if (best && best[1] !== "epoch") $("#curve-metric").value = best[1];
  $("#controls").addEventListener("submit", (event) => {
    event.preventDefault();
    Object.assign(state, { kind: $("#kind").value, keys: $("#keys").value, metric: $("#metric").value,
      mode: $("#mode").value, status: $("#status").value, filter: $("#filter").value.trim() });
    load();
  });
  for (const id of ["kind", "metric", "mode", "status"]) {
    $(`#${id}`).addEventListener("change", () => $("#controls").requestSubmit());
  }
  $("#curve-metric").addEventListener("change", drawCurve);
  $("#band").addEventListener("change", drawCurve);
  await load();
}

start();
