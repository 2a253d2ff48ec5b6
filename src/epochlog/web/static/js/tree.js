// A nested document as a collapsible tree of <details>, built with textContent only.
import { clear, h } from "./dom.js";
import { isNonFinite } from "./format.js";

function leafValue(value) {
  if (value === null || value === undefined) return h("span", { class: "val-other", text: "null" });
  if (typeof value === "number") return h("span", { class: "val-num", text: String(value) });
  if (isNonFinite(value)) return h("span", { class: "val-num nan", text: value });
  if (typeof value === "string") return h("span", { class: "val-str", text: JSON.stringify(value) });
  if (typeof value === "boolean") return h("span", { class: "val-other", text: String(value) });
  if (Array.isArray(value) && value.every((item) => item === null || typeof item !== "object")) {
    return h("span", { class: "val-other", text: JSON.stringify(value) });
  }
  return null;
}

function node(key, value, depth) {
  const leaf = leafValue(value);
  if (leaf) return h("div", { class: "leaf" }, h("span", { class: "key", text: key }), ": ", leaf);
  const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item]) : Object.entries(value);
  if (!entries.length) {
    return h("div", { class: "leaf" }, h("span", { class: "key", text: key }), ": ",
      h("span", { class: "val-other", text: Array.isArray(value) ? "[]" : "{}" }));
  }
  const details = h("details", { open: depth < 1 },
    h("summary", {}, h("span", { class: "key", text: key }), h("span", { class: "count", text: `${entries.length} ${Array.isArray(value) ? "items" : "keys"}` })));
  for (const [childKey, child] of entries) details.append(node(childKey, child, depth + 1));
  return details;
}

export function configTree(container, root) {
  clear(container);
  for (const [key, value] of Object.entries(root)) container.append(node(key, value, key === "config" ? 0 : 1));
}
