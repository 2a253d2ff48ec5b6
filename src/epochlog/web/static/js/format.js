// Formatting numbers, dates and values for display. Non-finite numbers arrive as the strings
// "NaN", "Infinity" and "-Infinity" (JSON has no such numbers).
import { h } from "./dom.js";

const NON_FINITE = new Set(["NaN", "Infinity", "-Infinity"]);

export function isNonFinite(value) {
  return typeof value === "string" && NON_FINITE.has(value);
}

export function toNumber(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

export function fmtNum(value) {
  if (typeof value !== "number") return String(value);
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return Math.abs(value) >= 1e6 ? value.toExponential(3) : value.toLocaleString("en-US");
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
  if (abs >= 1000) return value.toLocaleString("en-US", { maximumFractionDigits: 1 });
  return String(Number(value.toPrecision(4)));
}

export function fmtTick(value) {
  if (value == null) return "";
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(1);
  return String(Number(value.toPrecision(6)));
}

// A value as a DOM node: numbers formatted, NaN in red, null as a dash, objects as JSON.
export function valueNode(value) {
  if (value === null || value === undefined) return h("span", { class: "null", text: "—" });
  if (isNonFinite(value)) return h("span", { class: "nan", text: value });
  if (typeof value === "number") return document.createTextNode(fmtNum(value));
  if (typeof value === "boolean") return document.createTextNode(value ? "true" : "false");
  if (typeof value === "string") return document.createTextNode(value);
  return document.createTextNode(JSON.stringify(value));
}

// A configuration value exactly as stored (no rounding, no thousands separators).
export function rawNode(value) {
  if (typeof value === "number") return document.createTextNode(String(value));
  return valueNode(value);
}

export function valueText(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return fmtNum(value);
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function pad(n) {
  return String(n).padStart(2, "0");
}

// A moment to the second, for lines that are seconds apart (the console's timestamps).
export function fmtSeconds(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return String(iso ?? "—");
  return `${fmtDate(iso)}:${pad(d.getSeconds())}`;
}

export function fmtDate(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fmtDuration(ms) {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return "—";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad(s % 60)}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${pad(m % 60)}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function relTime(iso) {
  if (!iso) return "—";
  const ms = Date.now() - new Date(iso).getTime();
  if (!Number.isFinite(ms)) return String(iso);
  if (ms < 0) return "just now";
  return `${fmtDuration(ms)} ago`;
}

// Whether lower is better for a metric, judged by its name; null when the name says nothing.
export function lowerIsBetter(key) {
  const name = String(key).toLowerCase();
  if (/(loss|err|mae|mse|rmse|nll|perplexity|time|seconds|duration|nrmse)/.test(name)) return true;
  if (/(acc|auc|f1|r2|corr|pearson|spearman|precision|recall|score|iou|dice|kappa)/.test(name)) return false;
  return null;
}
