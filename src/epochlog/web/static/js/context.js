// The run's environment, in tabs: what it ran on (git, command, Python, machine, versions), its packages, its diff.
import { append, clear, h } from "./dom.js";
import { getJSON } from "./api.js";
import { valueText } from "./format.js";

const SHOWN = new Set(["git", "argv", "cwd", "python", "platform", "hostname", "cpu", "memory", "versions", "gpus",
  "packages_sha256"]);

function isDocument(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function text(value) {
  return typeof value === "string" ? value : valueText(value);
}

function gigabytes(bytes) {
  return typeof bytes === "number" ? `${(bytes / 1e9).toFixed(1)} GB` : text(bytes);
}

function facts(rows) {
  const list = h("dl", { class: "facts" });
  for (const [key, value] of rows) {
    if (value == null || value === "") continue;
    list.append(h("dt", { text: key }), append(h("dd"), [value]));
  }
  return list;
}

function summary(env) {
  const git = isDocument(env.git) ? env.git : {};
  const python = isDocument(env.python) ? env.python : {};
  const cpu = isDocument(env.cpu) ? env.cpu : {};
  const memory = isDocument(env.memory) ? env.memory : {};
  const rows = [
    ["Commit", git.commit != null ? h("code", { id: "env-commit", text: text(git.commit) }) : null],
    ["Branch", git.branch != null ? text(git.branch) : null],
    ["Tree", git.dirty === true ? h("span", { class: "badge failed", text: "dirty" })
      : git.dirty === false ? h("span", { class: "badge completed", text: "clean" }) : null],
    ["Remote", git.remote != null ? text(git.remote) : null],
    ["Git", git.error != null ? text(git.error) : env.git != null && !isDocument(env.git) ? text(env.git) : null],
    ["Command", Array.isArray(env.argv) ? h("code", { text: env.argv.map(text).join(" ") }) : env.argv != null ? text(env.argv) : null],
    ["Directory", env.cwd != null ? h("code", { text: text(env.cwd) }) : null],
    ["Python", isDocument(env.python) ? [python.implementation, python.version].filter((v) => v != null).map(text).join(" ")
      : env.python != null ? text(env.python) : null],
    ["Host", env.hostname != null ? text(env.hostname) : null],
    ["Platform", env.platform != null ? text(env.platform) : null],
    ["CPU", isDocument(env.cpu) ? [cpu.model, cpu.cores != null ? `${text(cpu.cores)} cores` : null,
      cpu.available != null && cpu.available !== cpu.cores ? `${text(cpu.available)} available` : null]
      .filter((v) => v != null).map(text).join(" · ") : env.cpu != null ? text(env.cpu) : null],
    ["Memory", memory.total_bytes != null ? gigabytes(memory.total_bytes) : null],
  ];
  if (Array.isArray(env.gpus)) {
    env.gpus.forEach((gpu, index) => rows.push([`GPU ${index}`, isDocument(gpu)
      ? [gpu.name, gpu.memory_bytes != null ? gigabytes(gpu.memory_bytes) : null, gpu.driver != null ? `driver ${text(gpu.driver)}` : null]
        .filter((v) => v != null).map(text).join(" · ") : text(gpu)]));
  }
  if (isDocument(env.versions)) {
    for (const [name, version] of Object.entries(env.versions)) rows.push([name, text(version)]);
  }
  for (const [key, value] of Object.entries(env)) { // whatever else an experiment holds under env
    if (!SHOWN.has(key)) rows.push([`env.${key}`, text(value)]);
  }
  return facts(rows);
}

function packagesTable(packages, box) {
  clear(box);
  if (!isDocument(packages)) {
    box.append(h("p", { class: "muted", text: packages == null ? "No package set recorded." : text(packages) }));
    return;
  }
  const names = Object.keys(packages).sort();
  const filter = h("input", { id: "package-filter", placeholder: `filter ${names.length} packages`, "aria-label": "filter packages" });
  const body = h("tbody");
  const fill = () => {
    const needle = filter.value.trim().toLowerCase();
    clear(body).append(...names.filter((name) => name.toLowerCase().includes(needle))
      .map((name) => h("tr", {}, h("td", { class: "mono", text: name }), h("td", { class: "mono", text: text(packages[name]) }))));
  };
  filter.addEventListener("input", fill);
  fill();
  box.append(filter, h("div", { class: "table-scroll packages" }, h("table", { class: "data", id: "package-table" },
    h("thead", {}, h("tr", {}, h("th", { text: "Package" }), h("th", { text: "Version" }))), body)));
}

function diffView(diff, git, box) {
  clear(box);
  if (diff == null) {
    box.append(h("p", { class: "muted", id: "no-diff", text: git.dirty === false ? "The tree was clean: no uncommitted changes."
      : "No diff recorded (no git, or capture left out git_diff)." }));
    return;
  }
  const lines = text(diff).split("\n");
  const kind = (line) => (line.startsWith("diff --git") ? "file" : line.startsWith("@@") ? "hunk"
    : line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : "");
  box.append(h("pre", { class: "diff", id: "diff-text" },
    lines.map((line) => h("span", { class: kind(line), text: `${line}\n` }))));
}

export function environmentCard(box, env, base) {
  clear(box);
  if (!isDocument(env)) {
    box.append(h("p", { class: "muted", text: env == null ? "No environment recorded." : `env (not a document): ${text(env)}` }));
    return;
  }
  const git = isDocument(env.git) ? env.git : {};
  const panels = {
    summary: { label: "Summary", build: async (panel) => panel.append(summary(env)) },
    packages: { label: "Packages", build: async (panel) => packagesTable((await getJSON(`${base}/packages`)).packages, panel) },
    diff: { label: git.dirty === true ? "Diff ●" : "Diff", build: async (panel) => diffView((await getJSON(`${base}/diff`)).diff, git, panel) },
  };
  const bar = h("div", { class: "tabs", role: "tablist" });
  const area = h("div");
  const built = new Set();
  const select = async (key) => {
    for (const button of bar.children) button.setAttribute("aria-selected", String(button.dataset.tab === key));
    for (const panel of area.children) panel.hidden = panel.dataset.tab !== key;
    if (built.has(key)) return;
    built.add(key);
    const panel = area.querySelector(`[data-tab="${key}"]`);
    try {
      await panels[key].build(panel);
    } catch (error) {
      panel.append(h("p", { class: "error-inline", text: error.message }));
    }
  };
  for (const [key, { label }] of Object.entries(panels)) {
    bar.append(h("button", { type: "button", role: "tab", class: "tab", id: `env-tab-${key}`, dataset: { tab: key },
      text: label, onclick: () => select(key) }));
    area.append(h("div", { role: "tabpanel", id: `env-${key}`, dataset: { tab: key }, hidden: true }));
  }
  box.append(bar, area);
  select("summary");
}
