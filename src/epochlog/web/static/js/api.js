// Talking to the JSON API: errors become ApiError with the server's {"error": ...} message.
import { $, h } from "./dom.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function handle(response) {
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, (data && data.error) || response.statusText || "request failed");
  return data;
}

export async function getJSON(url) {
  return handle(await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }));
}

export async function sendJSON(method, url, body) {
  return handle(await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: JSON.stringify(body),
  }));
}

export function initialData() {
  const el = document.getElementById("initial-data");
  const data = el ? JSON.parse(el.textContent || "{}") : {};
  const mode = $("#mode");
  if (mode) {
    mode.textContent = data.editable ? "editing enabled" : "read-only";
    mode.classList.toggle("editable", Boolean(data.editable));
  }
  return data;
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value == null || value === "") continue;
    if (Array.isArray(value)) value.forEach((item) => search.append(key, item));
    else search.append(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export function showError(el, error) {
  if (!el) return;
  if (!error) {
    el.hidden = true;
    el.textContent = "";
    return;
  }
  el.hidden = false;
  el.textContent = error instanceof Error ? error.message : String(error);
}

export function experimentLink(id, name) {
  return h("a", { href: `/experiments/${encodeURIComponent(id)}`, text: name || id });
}

// Polling every `ms` while `tick` returns true; stops when it returns false. A failed tick waits longer.
export function poll(tick, ms = 2000) {
  let stopped = false;
  let delay = ms;
  const run = async () => {
    if (stopped) return;
    let again = true;
    try {
      again = await tick();
      delay = ms;
    } catch (error) {
      delay = Math.min(delay * 2, 30000);
    }
    if (again !== false && !stopped) setTimeout(run, delay);
  };
  setTimeout(run, ms);
  return () => { stopped = true; };
}
