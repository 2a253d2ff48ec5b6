// Subjects' metadata, and per-subject results grouped by a subject attribute.
import { $, clear, fillSelect, h } from "./dom.js";
import { experimentLink, getJSON, initialData, query, showError } from "./api.js";
import { fmtNum, valueNode } from "./format.js";

initialData();
const params = new URLSearchParams(location.search);
const scope = { experiment: params.get("experiment") || "", challenge: params.get("challenge") || "" };
const choice = { metric: params.get("metric") || "", by: params.get("by") || "", bands: params.get("bands") || "6" };
const table = { skip: 0, limit: 100, filter: "" };

function writeUrl() {
  history.replaceState(null, "", `/subjects${query({ ...scope, ...choice, bands: choice.bands === "6" ? null : choice.bands })}`);
}

function renderBreakdown(result) {
  const box = clear($("#breakdown"));
  fillSelect($("#b-metric"), result.metrics, result.metric);
  fillSelect($("#b-by"), result.attributes, result.by);
  $("#b-bands").value = choice.bands;
  $("#b-bands").disabled = result.kind !== "numeric";
  const scopeText = $("#breakdown-scope");
  clear(scopeText);
  if (scope.experiment && result.experiments.length === 1) {
    scopeText.append("experiment ", experimentLink(result.experiments[0].id, result.experiments[0].experiment_name));
  } else {
    scopeText.append(`${result.experiments.length} experiment${result.experiments.length === 1 ? "" : "s"} with per-subject results`);
  }
  if (!result.metrics.length) {
    box.append(h("p", { class: "empty", text: "No experiment stored per-subject results (an experiment field subject_metrics: {\"sub-…\": {\"val_loss\": …}})." }));
    return;
  }
  if (!result.groups.length) {
    box.append(h("p", { class: "empty", text: "No subject with both a value and this attribute." }));
    return;
  }
  // A dot for the mean and a whisker for ± one sd, on an axis spanning just the groups' range.
  const lows = result.groups.map((g) => g.mean - g.std);
  const highs = result.groups.map((g) => g.mean + g.std);
  const pad = (Math.max(...highs) - Math.min(...lows)) * 0.08 || 1;
  const lo = Math.min(...lows) - pad;
  const span = Math.max(...highs) + pad - lo;
  const at = (value) => `${((value - lo) / span) * 100}%`;
  const rows = result.groups.map((g) => h("tr", {},
    h("td", { class: "key", text: g.label }),
    h("td", { class: "num", text: g.n_subjects }),
    h("td", { class: "num", text: `${fmtNum(g.mean)} ± ${fmtNum(g.std)}` }),
    h("td", { class: "num", text: fmtNum(g.median) }),
    h("td", { class: "num", text: `${fmtNum(g.min)} – ${fmtNum(g.max)}` }),
    h("td", { class: "bar-cell" }, h("div", { class: "bar", title: `mean ${fmtNum(g.mean)} ± ${fmtNum(g.std)}` },
      h("div", { class: "err", style: { left: at(g.mean - g.std), width: `${((2 * g.std) / span) * 100}%` } }),
      h("div", { class: "dot", style: { left: at(g.mean) } })))));
  const axis = h("div", { class: "bar-axis" }, h("span", { text: fmtNum(lo) }), h("span", { text: fmtNum(lo + span) }));
  box.append(h("div", { class: "table-scroll" }, h("table", { class: "data bars", id: "breakdown-table" },
    h("thead", {}, h("tr", {}, h("th", { text: result.by }), h("th", { class: "num", text: "Subjects" }),
      h("th", { class: "num", text: `Mean ${result.metric} ± sd` }), h("th", { class: "num", text: "Median" }),
      h("th", { class: "num", text: "Range" }), h("th", {}, axis))),
    h("tbody", {}, rows))));
  const notes = [`${result.subjects_with_values} subjects with a value (averaged over experiments)`];
  if (result.subjects_without_attribute) notes.push(`${result.subjects_without_attribute} without ${result.by}`);
  box.append(h("p", { class: "board-foot", text: notes.join(" · ") }));
}

async function loadBreakdown() {
  writeUrl();
  try {
    renderBreakdown(await getJSON(`/api/subjects/breakdown${query({ ...scope, ...choice })}`));
  } catch (error) {
    clear($("#breakdown")).append(h("p", { class: "error-inline", text: error.message }));
  }
}

async function loadSubjects() {
  let result;
  try {
    result = await getJSON(`/api/subjects${query(table)}`);
    showError($("#s-error"), null);
  } catch (error) {
    showError($("#s-error"), error);
    return;
  }
  const columns = ["subject_id", ...result.attributes];
  const thead = clear($("#subjects thead"));
  thead.append(h("tr", {}, columns.map((c) => h("th", { text: c }))));
  const tbody = clear($("#subjects tbody"));
  for (const row of result.rows) tbody.append(h("tr", {}, columns.map((c) => h("td", {}, valueNode(row[c])))));
  $("#s-empty").hidden = result.rows.length > 0;
  const last = Math.min(table.skip + result.rows.length, result.total);
  $("#s-range").textContent = `${result.total ? table.skip + 1 : 0}–${last} of ${result.total}`;
  $("#s-prev").disabled = table.skip <= 0;
  $("#s-next").disabled = table.skip + table.limit >= result.total;
  $("#subjects-line").textContent = `${result.total} subject${result.total === 1 ? "" : "s"}`;
}

$("#b-metric").addEventListener("change", (e) => { choice.metric = e.target.value; loadBreakdown(); });
$("#b-by").addEventListener("change", (e) => { choice.by = e.target.value; loadBreakdown(); });
$("#b-bands").addEventListener("change", (e) => { choice.bands = e.target.value; loadBreakdown(); });
$("#breakdown-controls").addEventListener("submit", (e) => e.preventDefault());
$("#s-filter").addEventListener("keydown", (e) => {
  if (e.key !== "Enter") return;
  table.filter = e.target.value.trim();
  table.skip = 0;
  loadSubjects();
});
$("#s-prev").addEventListener("click", () => { table.skip = Math.max(0, table.skip - table.limit); loadSubjects(); });
$("#s-next").addEventListener("click", () => { table.skip += table.limit; loadSubjects(); });

loadBreakdown();
loadSubjects();
