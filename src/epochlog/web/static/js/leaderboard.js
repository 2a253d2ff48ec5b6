// Best completed experiments per challenge by a chosen metric (NaN runs never rank).
import { $, clear, fillSelect, h } from "./dom.js";
import { experimentLink, getJSON, initialData, query, showError } from "./api.js";
import { fmtDate, lowerIsBetter, valueNode } from "./format.js";

initialData();
const params = new URLSearchParams(location.search);
const state = {
  metric: params.get("metric") || "",
  mode: params.get("mode") || "",
  n: Number(params.get("n")) || 10,
};

function writeUrl() {
  history.replaceState(null, "", `/leaderboard${query(state)}`);
}

function board(entry, metric) {
  const title = entry.challenge == null ? "All experiments" : `Challenge ${entry.challenge}`;
  const card = h("section", { class: "card board", dataset: { challenge: entry.challenge ?? "" } });
  const compareIds = entry.rows.slice(0, 5).map((row) => row.id);
  const head = h("div", { class: "card-head" }, h("h2", { text: title }));
  if (compareIds.length >= 2) {
    head.append(h("a", { class: "btn small", href: `/compare${query({ ids: compareIds.join(",") })}`,
      text: `Compare top ${compareIds.length}` }));
  }
  card.append(head);
  if (!entry.rows.length) {
    card.append(h("p", { class: "empty", text: `No completed experiment has a finite ${metric}.` }));
  } else {
    const table = h("table", { class: "data" }, h("thead", {}, h("tr", {},
      h("th", { text: "#" }), h("th", { text: "Experiment" }), h("th", { text: "Model" }),
      h("th", { class: "num", text: metric.replace(/^metrics\./, "") }), h("th", { text: "Finished" }))));
    const body = h("tbody");
    for (const row of entry.rows) {
      body.append(h("tr", { class: row.rank === 1 ? "first" : "" },
        h("td", { class: "rank", text: row.rank }),
        h("td", { class: "name" }, experimentLink(row.id, row.experiment_name)),
        h("td", { text: row.model || "" }),
        h("td", { class: "num" }, valueNode(row.value)),
        h("td", { text: fmtDate(row.end_time) })));
    }
    table.append(body);
    card.append(h("div", { class: "table-scroll" }, table));
  }
  const excluded = entry.completed - entry.ranked;
  card.append(h("p", { class: "board-foot",
    text: `${entry.completed} completed · ${entry.ranked} ranked${excluded ? ` · ${excluded} without a finite value excluded` : ""}` }));
  return card;
}

async function load() {
  writeUrl();
  try {
    const result = await getJSON(`/api/leaderboard${query(state)}`);
    showError($("#board-error"), null);
    const boards = clear($("#boards"));
    result.boards.forEach((entry) => boards.append(board(entry, result.metric)));
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
  $("#metric").addEventListener("change", (event) => {
    state.metric = event.target.value;
    state.mode = lowerIsBetter(state.metric) === false ? "max" : "min";
    $("#mode").value = state.mode;
    load();
  });
  $("#mode").addEventListener("change", (event) => { state.mode = event.target.value; load(); });
  $("#n").addEventListener("change", (event) => { state.n = Number(event.target.value); load(); });
  $("#controls").addEventListener("submit", (event) => event.preventDefault());
  await load();
}

start();
