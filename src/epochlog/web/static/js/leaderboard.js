// Best experiments per challenge by a chosen metric (NaN runs never rank): completed ones, or the runs of the
// statuses chosen (unfinished runs rank by the best epoch they reached), each with its best checkpoint's state.
import { $, clear, fillSelect, h, option } from "./dom.js";
import { experimentLink, getJSON, initialData, query, showError } from "./api.js";
import { fmtDate, lowerIsBetter, relTime, valueNode } from "./format.js";

initialData();
const params = new URLSearchParams(location.search);
const state = {
  metric: params.get("metric") || "",
  mode: params.get("mode") || "",
  n: Number(params.get("n")) || 10,
  status: params.getAll("status").join(",") || "completed",
};

const CHECKPOINT_TITLES = {
  ok: "the best checkpoint's file matches the sha256 recorded when it was saved",
  missing: "the best checkpoint's file is gone",
  changed: "the best checkpoint's file differs from the sha256 recorded when it was saved",
  unchecked: "no checksum was recorded, or the file cannot be read",
};

// What ranked, in words: "completed", "runs" (any status) or "failed or stopped".
function statusWords(status) {
  if (status === "any") return "runs";
  const names = Array.isArray(status) ? status : [status];
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
}

function writeUrl() {
  history.replaceState(null, "", `/leaderboard${query(state)}`);
}

function statusCell(row) {
  const cell = h("td", { class: "status" }, h("span", { class: `badge ${row.status}`, text: row.status || "?" }));
  if (row.stale) cell.append(" ", h("span", { class: "badge stale", text: "stale", title: `no heartbeat since ${relTime(row.heartbeat)}` }));
  return cell;
}

function checkpointCell(state) {
  if (!state) return h("td", { class: "checkpoint" }, h("span", { class: "null", text: "—", title: "no best checkpoint" }));
  return h("td", { class: "checkpoint" }, h("span", { class: `badge ${state}`, text: state, title: CHECKPOINT_TITLES[state] || "" }));
}

function board(entry, metric, status) {
  const title = entry.challenge == null ? "All experiments" : `Challenge ${entry.challenge}`;
  const card = h("section", { class: "card board", dataset: { challenge: entry.challenge ?? "" } });
  const compareIds = entry.rows.slice(0, 5).map((row) => row.id);
  const head = h("div", { class: "card-head" }, h("h2", { text: title }));
  if (compareIds.length >= 2) {
    head.append(h("a", { class: "btn small", href: `/compare${query({ ids: compareIds.join(",") })}`,
      text: `Compare top ${compareIds.length}` }));
  }
  card.append(head);
  const words = statusWords(status);
  if (!entry.rows.length) {
    const which = status === "any" ? "" : `${words} `;
    card.append(h("p", { class: "empty", text: `No ${which}experiment has a finite ${metric}.` }));
  } else {
    const table = h("table", { class: "data" }, h("thead", {}, h("tr", {},
      h("th", { text: "#" }), h("th", { text: "Experiment" }), h("th", { text: "Model" }), h("th", { text: "Status" }),
      h("th", { class: "num", text: metric.replace(/^metrics\./, "") }), h("th", { class: "num", text: "Best epoch" }),
      h("th", { text: "Best checkpoint" }), h("th", { text: "Finished" }))));
    const body = h("tbody");
    for (const row of entry.rows) {
      body.append(h("tr", { class: row.rank === 1 ? "first" : "", dataset: { id: row.id, status: row.status ?? "" } },
        h("td", { class: "rank", text: row.rank }),
        h("td", { class: "name" }, experimentLink(row.id, row.experiment_name)),
        h("td", { text: row.model || "" }),
        statusCell(row),
        h("td", { class: "num" }, valueNode(row.value)),
        h("td", { class: "num" }, valueNode(row.best_epoch)),
        checkpointCell(row.checkpoint),
        h("td", { text: row.end_time ? fmtDate(row.end_time) : "—" })));
    }
    table.append(body);
    card.append(h("div", { class: "table-scroll" }, table));
  }
  const excluded = entry.considered - entry.ranked;
  card.append(h("p", { class: "board-foot",
    text: `${entry.considered} ${words} · ${entry.ranked} ranked${excluded ? ` · ${excluded} without a finite value excluded` : ""}` }));
  return card;
}

function describe(status) {
  const which = status === "completed" ? "completed experiments"
    : status === "any" ? "experiments of any status (unfinished ones by the best epoch they reached)"
      : `${statusWords(status)} experiments (by the best epoch they reached)`;
  $("#board-sub").textContent = `Best ${which} per challenge. Runs whose metric is NaN, infinite or missing never rank.`;
}

async function load() {
  writeUrl();
  try {
    const result = await getJSON(`/api/leaderboard${query(state)}`);
    showError($("#board-error"), null);
    describe(result.status);
    const boards = clear($("#boards"));
    result.boards.forEach((entry) => boards.append(board(entry, result.metric, result.status)));
  } catch (error) {
    showError($("#board-error"), error);
    clear($("#boards"));
  }
}

async function start() {
  let facets = { metrics: [] };
  try {
    facets = await getJSON("/api/facets");
  } catch (error) {
    showError($("#board-error"), error);
  }
  const metrics = facets.metrics.map((key) => `metrics.${key}`);
  if (!state.metric) state.metric = metrics.includes("metrics.best_val_loss") ? "metrics.best_val_loss" : metrics[0] || "metrics.best_val_loss";
  if (!metrics.includes(state.metric)) metrics.unshift(state.metric);
  if (!state.mode) state.mode = lowerIsBetter(state.metric) === false ? "max" : "min";
  fillSelect($("#metric"), metrics.map((m) => [m, m.replace(/^metrics\./, "")]), state.metric);
  $("#mode").value = state.mode;
  $("#n").value = String(state.n);
  const statusSelect = $("#status");
  if (![...statusSelect.options].some((item) => item.value === state.status)) {
    statusSelect.append(option(state.status, state.status.split(",").join(", ")));  // a link's own choice
  }
  statusSelect.value = state.status;
  $("#metric").addEventListener("change", (event) => {
    state.metric = event.target.value;
    state.mode = lowerIsBetter(state.metric) === false ? "max" : "min";
    $("#mode").value = state.mode;
    load();
  });
  $("#mode").addEventListener("change", (event) => { state.mode = event.target.value; load(); });
  $("#n").addEventListener("change", (event) => { state.n = Number(event.target.value); load(); });
  statusSelect.addEventListener("change", (event) => { state.status = event.target.value; load(); });
  $("#controls").addEventListener("submit", (event) => event.preventDefault());
  await load();
}

start();
