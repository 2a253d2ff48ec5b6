// Building the DOM from data, safely: every string becomes a text node or an attribute value,
// never HTML. Nothing in the dashboard assigns innerHTML.

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "href") el.setAttribute("href", safeHref(value));
    else if (key === "checked" || key === "disabled" || key === "value" || key === "selected" || key === "open") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function $(selector) {
  return document.querySelector(selector);
}

// Links only ever point into the dashboard itself.
export function safeHref(value) {
  const text = String(value);
  return text.startsWith("/") && !text.startsWith("//") || text.startsWith("?") || text.startsWith("#") ? text : "#";
}

export function option(value, label, selected = false) {
  const el = h("option", { text: label ?? value });
  el.value = String(value);
  el.selected = selected;
  return el;
}

export function fillSelect(select, choices, current) {
  const keep = Array.from(select.querySelectorAll("option[data-fixed]"));
  clear(select);
  keep.forEach((el) => select.append(el));
  for (const choice of choices) {
    const [value, label] = Array.isArray(choice) ? choice : [choice, choice];
    select.append(option(value, label, String(value) === String(current ?? "")));
  }
  if (current != null && current !== "") select.value = String(current);
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
