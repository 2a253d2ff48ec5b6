// 2-10 experiments side by side: overlaid curves and step series (live for running ones), metrics, environment and
// config differences.
import { $, clear, h } from "./dom.js";
import { experimentLink, getJSON, initialData, query, showError } from "./api.js";
import { LineChart, align, colorAt } from "./charts.js";
import { lowerIsBetter, rawNode, toNumber, valueNode } from "./format.js";
import { follow, wants } from "./live.js";

initialData();
const ids = (new URLSearchParams(location.search).get("ids") || "").split(",").map((s) => s.trim()).filter(Boolean);
const SERIES_POINTS = 1000;
let experiments = [];
const epochData = new Map(); // id -> Map(epoch -> metrics)
const lastEpoch = new Map();
const curveCharts = new Map(); // metric -> chart
const seriesCharts = new Map(); // name -> {chart, views: Map(id -> [steps, values])}

function label(exp) {
  return exp.experiment_name || exp.id;
}

function renderLegend() {
  const legend = clear($("#legend"));
  experiments.forEach((exp, index) => {
    const chip = h("span", { class: "chip" }, h("span", { class: "swatch", style: { background: colorAt(index) } }),
      experimentLink(exp.id, label(exp)), h("span", { class: `badge ${exp.status}`, text: exp.status }));
    if (exp.stale) chip.append(h("span", { class: "badge stale", text: "stale" }));
    legend.append(chip);
  });
}

// -- curves -------------------------------------------------------------------------------------

function drawCurves() {
  const keys = new Set();
  for (const rows of epochData.values()) {
    for (const metrics of rows.values()) {
      for (const [key, value] of Object.entries(metrics)) if (typeof value === "number" || value === "NaN") keys.add(key);
    }
  }
  $("#no-curves").hidden = keys.size > 0;
  for (const key of Array.from(keys).sort()) {
    let chart = curveCharts.get(key);
    if (!chart) {
      chart = new LineChart($("#curves"), { title: key, xLabel: "epoch", key,
        series: experiments.map((exp, index) => ({ label: label(exp), color: colorAt(index), spanGaps: true })) });
      curveCharts.set(key, chart);
    }
    const tables = experiments.map((exp) => {
      const rows = epochData.get(exp.id) || new Map();
      const xs = Array.from(rows.keys()).sort((a, b) => a - b);
      return [xs, xs.map((x) => toNumber(rows.get(x)[key]))];
    });
    const [xs, ...ys] = align(tables);
    chart.setData(xs, ys, { keepView: true });
  }
}

async function fetchEpochs(exp) {
  const after = lastEpoch.has(exp.id) ? lastEpoch.get(exp.id) : -1;
  const result = await getJSON(`/api/experiments/${encodeURIComponent(exp.id)}/epochs${query({ after })}`);
  const rows = epochData.get(exp.id) || new Map();
  for (const row of result.epochs) {
    rows.set(row.epoch, row.metrics || {});
    lastEpoch.set(exp.id, Math.max(lastEpoch.get(exp.id) ?? -1, row.epoch));
  }
  epochData.set(exp.id, rows);
  const changed = exp.status !== result.experiment.status;
  exp.status = result.experiment.status;
  exp.stale = result.experiment.stale;
  return { added: result.epochs.length, changed };
}

// -- step series --------------------------------------------------------------------------------

function seriesUrl(id, name, params) {
  return `/api/experiments/${encodeURIComponent(id)}/series/${name.split("/").map(encodeURIComponent).join("/")}${query(params)}`;
}

async function loadSeries(name, start = null, end = null, keepView = start != null) {
  const entry = seriesCharts.get(name);
  await Promise.all(experiments.map(async (exp) => {
    if (!entry.owners.has(exp.id)) return;
    const result = await getJSON(seriesUrl(exp.id, name, { start, end, points: SERIES_POINTS }));
    entry.views.set(exp.id, [result.steps, result.values]);
  }));
  const tables = experiments.map((exp) => entry.views.get(exp.id) || [[], []]);
  const [xs, ...ys] = align(tables);
  entry.chart.setData(xs, ys, { keepView });
}

// The series of `exps`, each drawn again (a chart for a name seen for the first time): at the start for all,
// then for the running ones whose series the live stream says changed.
async function loadAllSeries(exps = experiments) {
  const touched = new Set();
  await Promise.all(exps.map(async (exp) => {
    const { series } = await getJSON(`/api/experiments/${encodeURIComponent(exp.id)}/series`);
    for (const name of series) {
      if (!seriesCharts.has(name)) {
        const chart = new LineChart($("#series-curves"), { title: name, xLabel: "step", key: name,
          series: experiments.map((other, index) => ({ label: label(other), color: colorAt(index), spanGaps: true })),
          onView: (min, max) => loadSeries(name, min == null ? null : Math.floor(min), max == null ? null : Math.ceil(max)) });
        seriesCharts.set(name, { chart, owners: new Set(), views: new Map() });
      }
      seriesCharts.get(name).owners.add(exp.id);
      touched.add(name);
    }
  }));
  if (!touched.size) return;
  $("#series-card").hidden = false;
  await Promise.all(Array.from(touched).sort().map((name) => loadSeries(name, null, null, exps !== experiments)));
}

// -- tables -------------------------------------------------------------------------------------

function headRow(first) {
  return h("tr", {}, h("th", { text: first }), experiments.map((exp, index) => h("th", {},
    h("span", { class: "swatch", style: { background: colorAt(index) } }), label(exp))));
}

function renderMetrics(rows) {
  const table = clear($("#metrics"));
  table.append(h("thead", {}, headRow("Metric")));
  const body = h("tbody");
  for (const row of rows) {
    const numbers = row.values.map(toNumber);
    const direction = lowerIsBetter(row.key);
    const finite = numbers.filter((v) => v != null);
    let best = null;
    if (direction != null && finite.length > 1) best = direction ? Math.min(...finite) : Math.max(...finite);
    body.append(h("tr", {}, h("td", { class: "key", text: row.key }), row.values.map((value, index) =>
      h("td", { class: `num${best != null && numbers[index] === best ? " best" : ""}` }, valueNode(value)))));
  }
  if (!rows.length) body.append(h("tr", {}, h("td", { class: "muted", text: "No summary metrics." })));
  table.append(body);
}

function renderConfig(rows) {
  const table = clear($("#config"));
  const showEqual = $("#show-equal").checked;
  table.append(h("thead", {}, headRow("Key")));
  const body = h("tbody");
  const equal = rows.filter((row) => !row.differs).length;
  for (const row of rows) {
    if (!row.differs && !showEqual) continue;
    body.append(h("tr", { class: row.differs ? "differs" : "" }, h("td", { class: "key", text: row.key }),
      row.values.map((value) => h("td", { class: "val" }, rawNode(value)))));
  }
  if (equal && !showEqual) {
    body.append(h("tr", { class: "collapsed-note" }, h("td", { colspan: String(experiments.length + 1),
      text: `${equal} equal key${equal === 1 ? "" : "s"} hidden` })));
  }
  if (!rows.length) body.append(h("tr", {}, h("td", { class: "muted", text: "No configuration." })));
  table.append(body);
}

function renderEnvironment(rows) {
  const table = clear($("#environment"));
  table.append(h("thead", {}, headRow("Key")));
  const body = h("tbody");
  for (const row of rows) {
    body.append(h("tr", { class: "differs" }, h("td", { class: "key", text: row.key }),
      row.values.map((value) => h("td", { class: "val" }, rawNode(value)))));
  }
  if (!rows.length) body.append(h("tr", {}, h("td", { class: "muted", text: "The environments are the same." })));
  table.append(body);
}

// -- start --------------------------------------------------------------------------------------

async function start() {
  let result;
  try {
    result = await getJSON(`/api/compare${query({ ids: ids.join(",") })}`);
  } catch (error) {
    showError($("#compare-error"), error);
    $("#no-curves").hidden = false;
    return;
  }
  experiments = result.experiments;
  renderLegend();
  renderMetrics(result.metrics);
  renderEnvironment(result.environment || []);
  renderConfig(result.config);
  $("#show-equal").addEventListener("change", () => renderConfig(result.config));
  await Promise.all(experiments.map(fetchEpochs));
  drawCurves();
  loadAllSeries().catch((error) => showError($("#compare-error"), error));
  if (experiments.some((exp) => exp.status === "running")) {
    $("#live").hidden = false;
    const running = experiments.filter((exp) => exp.status === "running");
    follow(`/api/events${query({ ids: running.map((exp) => exp.id).join(",") })}`, async (changes) => {
      const changed = experiments.filter((exp) => exp.status === "running" && wants(changes, ["epochs", "status"], exp.id));
      const stepping = experiments.filter((exp) => exp.status === "running" && wants(changes, ["series"], exp.id));
      const outcomes = await Promise.all(changed.map(fetchEpochs));
      if (stepping.length) await loadAllSeries(stepping);
      if (outcomes.some((o) => o.added)) drawCurves();
      if (outcomes.some((o) => o.changed)) {
        renderLegend();
        const fresh = await getJSON(`/api/compare${query({ ids: ids.join(",") })}`);
        renderMetrics(fresh.metrics);
      }
      const still = experiments.some((exp) => exp.status === "running");
      $("#live").hidden = !still;
      return still;
    });
  }
}

start();
