// One experiment: summary, learning curves (live while running), step series, system metrics, console,
// checkpoints, config, notes, environment.
import { $, append, clear, h } from "./dom.js";
import { ApiError, getJSON, initialData, query, sendJSON } from "./api.js";
import { LineChart, colorAt, groupMetrics } from "./charts.js";
import { fmtDate, fmtNum, relTime, toNumber, valueNode, valueText } from "./format.js";
import { configTree } from "./tree.js";
import { ConsolePanel } from "./console.js";
import { environmentCard } from "./context.js";
import { follow, wants } from "./live.js";

const data = initialData();
const experiment = data.experiment;
const id = experiment._id;
const base = `/api/experiments/${encodeURIComponent(id)}`;
const SERIES_POINTS = 2000;
let tags = data.tags || []; // the server's reading of what is stored (one string, numbers: all shown as text)
let archived = experiment.archived === true;

// -- header, summary, facts ---------------------------------------------------------------------

function flatten(value, prefix = "", out = {}) {
  if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
    for (const [key, item] of Object.entries(value)) flatten(item, prefix ? `${prefix}.${key}` : key, out);
  } else if (prefix) out[prefix] = value;
  return out;
}

function renderHeader(state) {
  $("#title").textContent = experiment.experiment_name || id;
  const badges = clear($("#badges"));
  badges.append(h("span", { class: `badge ${state.status}`, text: state.status ?? "—" }));
  if (state.stale) badges.append(h("span", { class: "badge stale", text: "stale", title: `no heartbeat since ${relTime(state.heartbeat)}` }));
  if (archived) badges.append(h("span", { class: "badge archived", text: "archived", title: "hidden from lists and leaderboards" }));
  if (experiment.challenge != null) badges.append(h("span", { class: "badge", text: `challenge ${experiment.challenge}` }));
  for (const tag of tags) badges.append(h("span", { class: "tag", text: tag }));
}

function isDocument(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function renderSummary(metrics) {
  const box = clear($("#summary"));
  if (metrics != null && !isDocument(metrics)) {
    box.append(h("p", { class: "muted", text: `Summary metrics (not a document): ${valueText(metrics)}` }));
    return;
  }
  const flat = flatten(metrics || {});
  const keys = Object.keys(flat).sort();
  if (!keys.length) {
    box.append(h("p", { class: "muted", text: "No summary metrics yet." }));
    return;
  }
  box.append(h("div", { class: "metric-grid" }, keys.map((key) => h("div", { class: "metric", title: key },
    h("div", { class: "k", text: key }), h("div", { class: "v" }, valueNode(flat[key]))))));
}

function renderFacts(state) {
  const facts = clear($("#facts"));
  const model = experiment.model ?? {};
  const rows = [
    ["Id", h("code", { text: id })],
    ["Model", isDocument(model) ? model.name || model.architecture || (Object.keys(model).length ? JSON.stringify(model) : "—")
      : valueText(model)],
    ["Started", fmtDate(experiment.start_time)],
    ["Ended", state.end_time ? fmtDate(state.end_time) : "—"],
    ["Duration", state.duration || "—"],
    ["Heartbeat", state.heartbeat ? `${relTime(state.heartbeat)}` : "—"],
    ["Host", [experiment.host, experiment.pid != null ? `pid ${experiment.pid}` : null].filter(Boolean).join(" · ") || "—"],
    ["By", experiment.created_by || "—"],
  ];
  if (isDocument(experiment.dataset) && Object.keys(experiment.dataset).length) {
    rows.push(["Dataset", Object.entries(flatten(experiment.dataset)).slice(0, 4).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ")]);
  } else if (experiment.dataset != null && !isDocument(experiment.dataset)) {
    rows.push(["Dataset", valueText(experiment.dataset)]);
  }
  if (experiment.subject_metrics_count) rows.push(["Subjects", `${experiment.subject_metrics_count} with per-subject results`]);
  for (const [key, value] of rows) facts.append(h("dt", { text: key }), append(h("dd"), [value]));
}

function renderFailure() {
  if (experiment.error == null) return;
  const error = isDocument(experiment.error) ? experiment.error : { message: data.error }; // one stored as text
  const box = $("#failure");
  box.hidden = false;
  box.append(h("h2", { text: `${experiment.status === "stopped" ? "Stopped" : "Failed"}: ${error.type || "error"}` }),
    h("p", { text: error.message || "" }));
  if (error.traceback) box.append(h("pre", { text: error.traceback }));
}

// -- learning curves ----------------------------------------------------------------------------

const epochs = new Map(); // epoch -> metrics (flat)
let lastEpoch = -1;
const epochCharts = new Map(); // group title -> {chart, keys}

function metricKeys() {
  const keys = new Set();
  for (const metrics of epochs.values()) {
    for (const [key, value] of Object.entries(metrics)) if (typeof value === "number" || value === "NaN") keys.add(key);
  }
  return Array.from(keys).sort();
}

function addEpochs(rows) {
  for (const row of rows) {
    if (typeof row.epoch !== "number") continue; // other code's "3" or null: no place on an epoch axis
    epochs.set(row.epoch, row.metrics || {});
    lastEpoch = Math.max(lastEpoch, Math.floor(row.epoch));
  }
}

function drawEpochCharts() {
  const keys = metricKeys();
  $("#no-epochs").hidden = keys.length > 0;
  const xs = Array.from(epochs.keys()).sort((a, b) => a - b);
  for (const group of groupMetrics(keys)) {
    let entry = epochCharts.get(group.title);
    if (!entry || entry.keys.join() !== group.keys.join()) {
      if (entry) entry.chart.destroy();
      const chart = new LineChart($("#epoch-charts"), { title: group.title, xLabel: "epoch", key: group.title,
        series: group.keys.map((key, index) => ({ label: key, color: colorAt(index) })) });
      entry = { chart, keys: group.keys };
      epochCharts.set(group.title, entry);
    }
    const ys = group.keys.map((key) => xs.map((x) => toNumber(epochs.get(x)[key])));
    entry.chart.setData(xs, ys, { keepView: true });
    entry.chart.setMeta(`${xs.length} epoch${xs.length === 1 ? "" : "s"}`);
  }
}

// -- step series --------------------------------------------------------------------------------

const seriesCharts = new Map(); // name -> {chart, steps, values, last}

function seriesUrl(name, params) {
  return `${base}/series/${name.split("/").map(encodeURIComponent).join("/")}${query(params)}`;
}

async function loadSeries(name, start = null, end = null) {
  const entry = seriesCharts.get(name);
  const result = await getJSON(seriesUrl(name, { start, end, points: SERIES_POINTS }));
  if (start == null) entry.last = result.last_step;
  entry.chart.setData(result.steps, [result.values], { keepView: start != null });
  const shown = result.steps.length;
  entry.chart.setMeta(result.downsampled ? `${shown.toLocaleString("en-US")} of ${result.count.toLocaleString("en-US")} points`
    : `${result.total.toLocaleString("en-US")} points`);
  entry.total = result.total;
}

const SYSTEM = "system/"; // the run's sampled system metrics get a card of their own

function createSeriesChart(name, index) {
  const system = name.startsWith(SYSTEM);
  $(system ? "#system-card" : "#series-card").hidden = false;
  const entry = { last: null, total: 0 };
  entry.chart = new LineChart($(system ? "#system-charts" : "#series-charts"), { title: system ? name.slice(SYSTEM.length) : name,
    xLabel: system ? "seconds" : "step", key: name,
    series: [{ label: name, color: colorAt(index + 2) }],
    onView: (min, max) => loadSeries(name, min == null ? null : Math.floor(min), max == null ? null : Math.ceil(max)) });
  seriesCharts.set(name, entry);
  return entry;
}

async function tailSeries(name) {
  const entry = seriesCharts.get(name);
  if (entry.chart.zoomed) return;
  const result = await getJSON(seriesUrl(name, { after: entry.last ?? -1, points: SERIES_POINTS }));
  if (!result.steps.length) return;
  entry.last = result.last_step;
  const xs = entry.chart.xs.concat(result.steps);
  const ys = entry.chart.ys[0].concat(result.values);
  if (xs.length > 2 * SERIES_POINTS) {
    await loadSeries(name);
    return;
  }
  entry.chart.setData(xs, [ys]);
  entry.chart.setMeta(`${result.total.toLocaleString("en-US")} points`);
}

async function refreshSeriesList() {
  const { series } = await getJSON(`${base}/series`);
  const fresh = series.filter((name) => !seriesCharts.has(name));
  await Promise.all(fresh.map((name) => {
    createSeriesChart(name, seriesCharts.size);
    return loadSeries(name);
  }));
}

// -- checkpoints --------------------------------------------------------------------------------

function fmtSize(file) {
  const bytes = typeof file.size_bytes === "number" ? file.size_bytes : typeof file.size_mb === "number" ? file.size_mb * 1e6 : null;
  if (bytes == null) return "—";
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

async function loadCheckpoints() {
  const box = $("#checkpoints");
  let result;
  try {
    result = await getJSON(`${base}/checkpoints`);
  } catch (error) {
    clear(box).append(h("p", { class: "error-inline", text: error.message }));
    return;
  }
  clear(box);
  if (!result.checkpoints.length) {
    box.append(h("p", { class: "muted", text: "No checkpoints saved." }));
    return;
  }
  const table = h("table", { class: "data", id: "checkpoint-table" }, h("thead", {}, h("tr", {},
    ["Epoch", "", "File", "Size", "Metrics", "Checksum", "State"].map((label) => h("th", { text: label })))));
  const body = h("tbody");
  for (const cp of result.checkpoints) {
    const file = isDocument(cp.file) ? cp.file : {};
    const path = isDocument(cp.file) ? file.path : cp.file; // the seed's code stored the path alone
    const metrics = Object.entries(flatten(cp.metrics || {})).map(([k, v]) => `${k} ${typeof v === "number" ? fmtNum(v) : v}`).join(" · ");
    body.append(h("tr", { class: cp.is_best ? "best" : "" },
      h("td", { class: "num", text: cp.epoch ?? "—" }),
      h("td", {}, cp.is_best ? h("span", { class: "badge best", text: "★ best" }) : null),
      h("td", { class: "mono", text: path == null || path === "" ? "—" : valueText(path) }),
      h("td", { class: "num", text: fmtSize(file) }),
      h("td", { text: metrics || "—" }),
      h("td", { class: "mono", title: file.checksum || "", text: file.checksum ? `${String(file.checksum).slice(0, 19)}…` : "—" }),
      h("td", {}, h("span", { class: `badge ${cp.state}`, text: cp.state }))));
  }
  table.append(body);
  box.append(h("div", { class: "table-scroll" }, table));
}

// -- notes and tags -----------------------------------------------------------------------------

function renderTags(tags) {
  const box = clear($("#tags"));
  const list = h("div", { id: "tag-list" });
  for (const tag of tags) {
    const chip = h("span", { class: "tag", text: tag });
    if (data.editable) {
      chip.append(h("button", { type: "button", title: `remove ${tag}`, "aria-label": `remove ${tag}`, text: "×",
        onclick: () => saveTags(tags.filter((t) => t !== tag)) }));
    }
    list.append(chip);
  }
  if (!tags.length) list.append(h("span", { class: "muted", text: "No tags." }));
  box.append(list);
  if (data.editable) {
    const input = h("input", { id: "new-tag", placeholder: "add a tag", maxlength: "200" });
    const add = () => {
      const value = input.value.trim();
      if (value && !tags.includes(value)) saveTags([...tags, value]);
    };
    input.addEventListener("keydown", (event) => { if (event.key === "Enter") add(); });
    box.append(h("div", { class: "tag-edit" }, input, h("button", { type: "button", class: "btn small", text: "Add", onclick: add })));
  }
}

async function saveTags(tags) {
  try {
    const result = await sendJSON("PUT", `${base}/tags`, { tags });
    tags = result.tags;
    renderTags(tags);
    renderHeader(currentState);
  } catch (error) {
    $("#tags").append(h("p", { class: "error-inline", text: error.message }));
  }
}

function renderNotes(notes) {
  const box = clear($("#notes"));
  if (!data.editable) {
    box.append(notes ? h("p", { class: "notes-text", text: notes }) : h("p", { class: "muted notes-text", text: "No notes." }));
    return;
  }
  const area = h("textarea", { id: "notes-input", "aria-label": "notes", placeholder: "Notes about this run…" });
  area.value = notes || "";
  const status = h("span", { class: "saved" });
  const save = h("button", { type: "button", class: "btn small primary", text: "Save notes", onclick: async () => {
    status.textContent = "";
    try {
      const result = await sendJSON("PUT", `${base}/notes`, { notes: area.value });
      area.value = result.notes;
      status.textContent = "saved";
    } catch (error) {
      status.textContent = error.message;
    }
  } });
  box.append(h("div", { class: "notes-edit" }, area, h("div", {}, save, " ", status)));
}

// -- archive ------------------------------------------------------------------------------------

function renderArchive() {
  const button = $("#archive");
  button.hidden = !data.editable;
  button.textContent = archived ? "Restore" : "Archive";
  button.title = archived ? "show this run in lists and leaderboards again"
    : "hide this run from lists and leaderboards; nothing is deleted";
}

async function toggleArchived() {
  try {
    archived = (await sendJSON("PUT", `${base}/archived`, { archived: !archived })).archived;
  } catch (error) {
    $("#archive").title = error.message;
  }
  renderArchive();
  renderHeader(currentState);
}

// -- live updates -------------------------------------------------------------------------------

const consolePanel = new ConsolePanel($("#console"), $("#console-meta"), base, id);

let currentState = { status: experiment.status, stale: data.stale, heartbeat: experiment.heartbeat, end_time: experiment.end_time,
  duration: data.duration };

async function fetchEpochs() {
  const result = await getJSON(`${base}/epochs${query({ after: lastEpoch })}`);
  addEpochs(result.epochs);
  currentState = result.experiment;
  return result;
}

// What `follow` says changed (null: everything), fetched through the same reads as the page's first view.
async function update(changes) {
  const wasRunning = currentState.status === "running";
  if (wants(changes, ["epochs", "status"])) {
    const result = await fetchEpochs();
    if (result.epochs.length) drawEpochCharts();
  }
  if (wants(changes, ["series"])) {
    await refreshSeriesList();
    await Promise.all(Array.from(seriesCharts.keys()).map(tailSeries));
  }
  if (wants(changes, ["console"])) await consolePanel.follow();
  renderHeader(currentState);
  renderSummary(currentState.metrics);
  renderFacts(currentState);
  const running = currentState.status === "running";
  $("#live").hidden = !running;
  if (wasRunning && !running) loadCheckpoints();
  return running;
}

// -- start --------------------------------------------------------------------------------------

function start() {
  renderHeader(currentState);
  renderSummary(experiment.metrics);
  renderFacts(currentState);
  renderFailure();
  configTree($("#config-tree"), { config: experiment.config || {}, model: experiment.model || {}, dataset: experiment.dataset || {} });
  $("#expand-all").addEventListener("click", () => document.querySelectorAll("#config-tree details").forEach((d) => { d.open = true; }));
  $("#collapse-all").addEventListener("click", () => document.querySelectorAll("#config-tree details").forEach((d) => { d.open = false; }));
  renderTags(tags);
  renderArchive();
  $("#archive").addEventListener("click", toggleArchived);
  renderNotes(experiment.notes == null || typeof experiment.notes === "string" ? experiment.notes || "" : valueText(experiment.notes));
  if (experiment.subject_metrics_count) {
    const link = $("#subjects-link");
    link.hidden = false;
    link.setAttribute("href", `/subjects${query({ experiment: id })}`);
  }
  fetchEpochs().then(() => drawEpochCharts()).catch((error) => {
    $("#no-epochs").hidden = false;
    $("#no-epochs").textContent = error instanceof ApiError ? error.message : String(error);
  });
  (data.series || []).forEach((name, index) => {
    createSeriesChart(name, index);
    loadSeries(name);
  });
  loadCheckpoints();
  consolePanel.load();
  environmentCard($("#environment"), experiment.env, base);
  if (experiment.status === "running") {
    $("#live").hidden = false;
    follow(`${base}/events`, update);
  }
}

start();
