// The experiments table: server-side pages, sort on any column, filters, selection, compare, export.
import { $, clear, fillSelect, h, option } from "./dom.js";
import { ApiError, experimentLink, getJSON, initialData, query, showError } from "./api.js";
import { fmtDate, rawNode, relTime, valueNode } from "./format.js";

const data = initialData();
const SELECTION_KEY = "epochlog.selection";
const MAX_COMPARE = 10;
const DEFAULT_METRIC_COLUMNS = 4;
const COMPUTE_ERROR = "the computed column: "; // how the server begins the computed column's errors
const COMPUTED = "$computed"; // the sort key of the computed column (the server orders the newest matches by it)

const FIXED = [
  { id: "experiment_name", label: "Name", sort: "experiment_name" },
  { id: "status", label: "Status", sort: "status" },
  { id: "challenge", label: "Challenge", sort: "challenge", num: true },
  { id: "model", label: "Model", sort: "model.name" },
  { id: "start_time", label: "Started", sort: "start_time" },
  { id: "duration", label: "Duration", sort: null, num: true },
];

const state = readUrl();
let page = data.page || null;
let facets = null;
const selection = loadSelection();

function readUrl() {
  const params = new URLSearchParams(location.search);
  return {
    challenge: params.get("challenge") || "",
    status: params.get("status") || "",
    tag: params.get("tag") || "",
    filter: params.get("filter") || "",
    sort: params.get("sort") || "start_time",
    order: Number(params.get("order") || -1) === 1 ? 1 : -1,
    skip: Math.max(0, Number(params.get("skip")) || 0),
    limit: Number(params.get("limit")) || 50,
    archived: params.get("archived") === "1" ? "1" : "",
    cols: params.has("cols") ? params.get("cols").split(",").filter(Boolean) : null,
    compute: params.get("compute") || "",
    cname: params.get("cname") || "",
  };
}

function apiParams() {
  const { challenge, status, tag, filter, sort, order, skip, limit, archived, compute } = state;
  return { challenge, status, tag, filter, sort, order, skip, limit, archived, compute };
}

function writeUrl(push) {
  const params = { ...apiParams(), cols: state.cols ? state.cols.join(",") : null, cname: state.compute ? state.cname : null };
  if (params.sort === "start_time") delete params.sort;
  if (params.order === -1) delete params.order;
  if (!params.skip) delete params.skip;
  if (params.limit === 50) delete params.limit;
  const url = `/${query(params)}`;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

function loadSelection() {
  try {
    return new Map(JSON.parse(sessionStorage.getItem(SELECTION_KEY) || "[]"));
  } catch (error) {
    return new Map();
  }
}

function saveSelection() {
  sessionStorage.setItem(SELECTION_KEY, JSON.stringify(Array.from(selection)));
  renderSelection();
}

// -- columns ------------------------------------------------------------------------------------

function availableColumns() {
  const metrics = new Set(page ? page.columns.metrics : []);
  const config = new Set(page ? page.columns.config : []);
  if (facets) {
    facets.metrics.forEach((key) => metrics.add(key));
    facets.config.forEach((key) => config.add(key));
  }
  return { metrics: Array.from(metrics).sort(), config: Array.from(config).sort() };
}

function extraColumns() {
  if (state.cols) return state.cols;
  const metrics = page ? page.columns.metrics : [];
  const rank = (key) => (key === "best_val_loss" ? 0 : /best_val/.test(key) ? 1 : /val/.test(key) ? 2 : /best/.test(key) ? 3 : 4);
  const ordered = [...metrics].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return ordered.slice(0, DEFAULT_METRIC_COLUMNS).map((key) => `metrics.${key}`);
}

function renderColumnChooser() {
  const box = clear($("#column-chooser"));
  const shown = new Set(extraColumns());
  const { metrics, config } = availableColumns();
  const section = (title, prefix, keys) => {
    if (!keys.length) return;
    box.append(h("h3", { text: title }));
    for (const key of keys) {
      const path = `${prefix}.${key}`;
      box.append(h("label", {}, h("input", {
        type: "checkbox", checked: shown.has(path),
        onchange: (event) => {
          const cols = extraColumns().filter((col) => col !== path);
          if (event.target.checked) cols.push(path);
          state.cols = cols;
          writeUrl(false);
          renderTable();
        },
      }), path));
    }
  };
  section("Metrics", "metrics", metrics);
  section("Config", "config", config);
  if (!metrics.length && !config.length) box.append(h("p", { class: "muted", text: "No metric or config keys yet." }));
}

// -- table --------------------------------------------------------------------------------------

function header(label, sortKey, { num = false, cls = "" } = {}) {
  const active = sortKey && state.sort === sortKey;
  const th = h("th", { class: `${cls}${num ? " num" : ""}${sortKey ? " sortable" : ""}`, dataset: { sort: sortKey || "" },
    "aria-sort": active ? (state.order === 1 ? "ascending" : "descending") : null });
  const dot = label.indexOf(".");
  if (cls && dot > 0) th.append(h("span", { class: "prefix", text: label.slice(0, dot + 1) }), label.slice(dot + 1));
  else th.append(label);
  if (active) th.append(h("span", { class: "arrow", text: state.order === 1 ? "▲" : "▼" }));
  if (sortKey) {
    th.title = `sort by ${sortKey}`;
    th.addEventListener("click", () => {
      if (state.sort === sortKey) state.order = -state.order;
      else {
        state.sort = sortKey;
        state.order = sortKey === "start_time" ? -1 : 1;
      }
      state.skip = 0;
      load(true);
    });
  }
  return th;
}

function renderTable() {
  const table = $("#experiments");
  const thead = clear(table.querySelector("thead"));
  const tbody = clear(table.querySelector("tbody"));
  const rows = page ? page.rows : [];
  const extras = extraColumns();
  const allChecked = rows.length > 0 && rows.every((row) => selection.has(row.id));
  const headRow = h("tr", {}, h("th", { class: "check" }, h("input", {
    type: "checkbox", checked: allChecked, "aria-label": "select all on this page",
    onchange: (event) => {
      for (const row of rows) {
        if (event.target.checked) selection.set(row.id, row.experiment_name);
        else selection.delete(row.id);
      }
      saveSelection();
      renderTable();
    },
  })));
  for (const col of FIXED) headRow.append(header(col.label, col.sort, { num: col.num }));
  for (const path of extras) headRow.append(header(path, path, { num: true, cls: path.startsWith("metrics.") ? "metric" : "config" }));
  if (state.compute) {
    const th = header(state.cname || "computed", COMPUTED, { num: true, cls: "computed" });
    th.title = state.compute;
    headRow.append(th);
  }
  headRow.append(header("Tags", "tags"));
  thead.append(headRow);

  for (const row of rows) {
    const selected = selection.has(row.id);
    const tr = h("tr", { class: selected ? "selected" : "", dataset: { id: row.id } });
    tr.append(h("td", { class: "check" }, h("input", {
      type: "checkbox", checked: selected, "aria-label": "select",
      onchange: (event) => {
        if (event.target.checked) selection.set(row.id, row.experiment_name);
        else selection.delete(row.id);
        tr.classList.toggle("selected", event.target.checked);
        saveSelection();
      },
    })));
    const name = h("td", { class: "name" }, experimentLink(row.id, row.experiment_name));
    if (row.error && row.error.message) name.title = `${row.error.type || "error"}: ${row.error.message}`;
    tr.append(name);
    const status = h("td", {}, h("span", { class: `badge ${row.status}`, text: row.status || "?" }));
    if (row.archived) status.append(" ", h("span", { class: "badge archived", text: "archived" }));
    if (row.stale) {
      status.append(" ", h("span", { class: "badge stale", text: "stale", title: `no heartbeat since ${relTime(row.heartbeat)}` }));
    }
    tr.append(status);
    tr.append(h("td", { class: "num" }, valueNode(row.challenge)));
    tr.append(h("td", { text: row.model || "" }));
    tr.append(h("td", { text: fmtDate(row.start_time), title: row.start_time || "" }));
    tr.append(h("td", { class: "num", text: row.duration }));
    for (const path of extras) {
      const [part, ...rest] = path.split(".");
      const values = part === "metrics" ? row.metrics : part === "config" ? row.config : {};
      const value = values ? values[rest.join(".")] : undefined;
      tr.append(h("td", { class: "num" }, part === "config" ? rawNode(value) : valueNode(value)));
    }
    if (state.compute) tr.append(h("td", { class: "num computed" }, valueNode(row.computed)));
    tr.append(h("td", { class: "tags" }, (row.tags || []).map((tag) => h("span", { class: "tag", text: tag }))));
    tbody.append(tr);
  }
  $("#empty").hidden = rows.length > 0;
  const total = page ? page.total : 0;
  const shown = total.toLocaleString("en-US") + (page && page.total_exact === false ? "+" : "");
  const first = total ? state.skip + 1 : 0;
  const last = Math.min(state.skip + rows.length, total);
  $("#range").textContent = `${first.toLocaleString("en-US")}–${last.toLocaleString("en-US")} of ${shown}`;
  $("#prev").disabled = state.skip <= 0;
  $("#next").disabled = state.skip + state.limit >= total;
  const within = page && page.sorted_within ? `; ordered by the computed column among the newest ${page.sorted_within.toLocaleString("en-US")}` : "";
  $("#summary-line").textContent = `${shown} experiment${total === 1 ? "" : "s"}${hasFilters() ? " match the filters" : ""}${within}`;
  renderSelection();
}

function hasFilters() {
  return Boolean(state.challenge || state.status || state.tag || state.filter);
}

function renderSelection() {
  const count = selection.size;
  $("#selection").textContent = count ? `${count} selected` : "";
  $("#clear-selection").hidden = count === 0;
  const compare = $("#compare");
  compare.disabled = count < 2 || count > MAX_COMPARE;
  compare.textContent = count >= 2 ? `Compare ${count}` : "Compare";
  compare.title = count > MAX_COMPARE ? `compare takes at most ${MAX_COMPARE}` : "select 2 to 10 experiments";
  const what = count ? `the ${count} selected experiments` : "every experiment matching the filters";
  $("#export-csv").title = `download ${what} as CSV`;
  $("#export-json").title = `download ${what} as JSON`;
}

// -- loading ------------------------------------------------------------------------------------

let loading = 0;

async function load(push) {
  writeUrl(push);
  syncForm();
  const ticket = ++loading;
  try {
    const next = await getJSON(`/api/experiments${query(apiParams())}`);
    if (ticket !== loading) return;
    page = next;
    showProblem(null);
  } catch (error) {
    if (ticket !== loading) return;
    if (!(error instanceof ApiError)) throw error;
    showProblem(error.message);
    page = { rows: [], total: 0, columns: { metrics: [], config: [] } };
  }
  renderTable();
  renderColumnChooser();
}

// A bad filter next to the filter box, a bad computed column next to its own.
function showProblem(message) {
  const computed = message != null && message.startsWith(COMPUTE_ERROR);
  showError($("#filter-error"), computed ? null : message);
  showError($("#compute-error"), computed ? message : null);
}

function syncForm() {
  $("#f-challenge").value = state.challenge;
  $("#f-status").value = state.status;
  $("#f-tags").value = state.tag;
  $("#f-filter").value = state.filter;
  $("#f-compute").value = state.compute;
  $("#f-cname").value = state.cname;
  $("#page-size").value = String(state.limit);
  $("#f-archived").checked = state.archived === "1";
}

async function loadFacets() {
  try {
    facets = await getJSON("/api/facets");
  } catch (error) {
    return;
  }
  const challenge = $("#f-challenge");
  fillSelect(challenge, facets.challenges.map((c) => [c, `Challenge ${c}`]), state.challenge);
  fillSelect($("#f-status"), facets.statuses, state.status);
  const list = clear($("#tag-list"));
  facets.tags.forEach((tag) => list.append(option(tag)));
  renderColumnChooser();
}

function exportUrl(format) {
  const ids = Array.from(selection.keys());
  const sort = state.sort === COMPUTED ? null : state.sort; // an export keeps the newest first then
  const params = ids.length ? { ids: ids.join(","), format } : { ...apiParams(), sort, skip: null, limit: null, compute: null, format };
  return `/api/experiments/export${query(params)}`;
}

// -- wiring -------------------------------------------------------------------------------------

for (const select of [$("#f-challenge"), $("#f-status")]) {
  select.querySelector("option").dataset.fixed = "1";
}
$("#f-status").append(...["running", "completed", "failed", "stopped", "stale"].map((s) => option(s)));
$("#filters").addEventListener("submit", (event) => {
  event.preventDefault();
  state.challenge = $("#f-challenge").value;
  state.status = $("#f-status").value;
  state.tag = $("#f-tags").value.trim();
  state.filter = $("#f-filter").value.trim();
  state.compute = $("#f-compute").value.trim();
  state.cname = $("#f-cname").value.trim();
  if (!state.compute && state.sort === COMPUTED) Object.assign(state, { sort: "start_time", order: -1 });
  state.archived = $("#f-archived").checked ? "1" : "";
  state.skip = 0;
  load(true);
});
for (const select of [$("#f-challenge"), $("#f-status"), $("#f-archived")]) {
  select.addEventListener("change", () => $("#filters").requestSubmit());
}
$("#reset").addEventListener("click", () => {
  Object.assign(state, { challenge: "", status: "", tag: "", filter: "", archived: "", compute: "", cname: "", skip: 0 });
  if (state.sort === COMPUTED) Object.assign(state, { sort: "start_time", order: -1 });
  load(true);
});
$("#prev").addEventListener("click", () => {
  state.skip = Math.max(0, state.skip - state.limit);
  load(true);
});
$("#next").addEventListener("click", () => {
  state.skip += state.limit;
  load(true);
});
$("#page-size").addEventListener("change", (event) => {
  state.limit = Number(event.target.value);
  state.skip = 0;
  load(true);
});
$("#compare").addEventListener("click", () => {
  const ids = Array.from(selection.keys());
  location.href = `/compare${query({ ids: ids.join(",") })}`;
});
$("#clear-selection").addEventListener("click", () => {
  selection.clear();
  saveSelection();
  renderTable();
});
$("#export-csv").addEventListener("click", () => { location.href = exportUrl("csv"); });
$("#export-json").addEventListener("click", () => { location.href = exportUrl("json"); });
window.addEventListener("popstate", () => {
  Object.assign(state, readUrl());
  load(false);
});

syncForm();
if (data.error) {
  showProblem(data.error);
  page = { rows: [], total: 0, columns: { metrics: [], config: [] } };
}
renderTable();
renderColumnChooser();
loadFacets();
