// The run's captured console: its last lines, then what it prints, followed while it runs.
import { clear, h } from "./dom.js";
import { getJSON, query } from "./api.js";
import { fmtSeconds } from "./format.js";

const FIRST = 1000; // lines of the first view (the server's default)
const FOLLOW = 10000; // lines asked for at each live read
const KEEP = 5000; // lines kept on the page; `epochlog logs` prints them all

export class ConsolePanel {
  constructor(box, meta, base, id) {
    this.box = box;
    this.meta = meta;
    this.url = `${base}/console`;
    this.id = id;
    this.last = 0;
    this.count = 0;
    this.cut = 0; // lines removed from the page's top to keep it at KEEP
    this.pre = null;
  }

  async load() {
    let result;
    try {
      result = await getJSON(`${this.url}${query({ tail: FIRST })}`);
    } catch (error) {
      clear(this.box).append(h("p", { class: "error-inline", text: error.message }));
      return;
    }
    this.first = result.lines.length === FIRST; // there may be earlier lines than the page shows
    this.show(result);
  }

  async follow() {
    this.show(await getJSON(`${this.url}${query({ after: this.last, tail: FOLLOW })}`));
  }

  show(result) {
    this.last = Math.max(this.last, result.last_seq);
    if (!result.lines.length && this.pre) return;
    if (!this.pre) {
      clear(this.box);
      if (!result.lines.length) {
        this.box.append(h("p", { class: "muted", id: "no-console",
          text: "No console captured (start_run(console=True), on by default in the integrations)." }));
        return;
      }
      this.pre = h("pre", { class: "console", id: "console-lines", tabindex: "0" });
      const stamps = h("input", { type: "checkbox", id: "console-times",
        onchange: () => this.pre.classList.toggle("stamped", stamps.checked) });
      this.box.append(h("label", { class: "toggle console-tools" }, stamps, "timestamps"), this.pre);
    }
    const atBottom = this.pre.scrollHeight - this.pre.scrollTop - this.pre.clientHeight < 24;
    const nodes = result.lines.map((line) => h("span", { class: `line ${line.stream === "stderr" ? "stderr" : ""}`,
      dataset: { time: fmtSeconds(line.time) }, text: `${line.text}\n` }));
    if (result.dropped_at != null) {
      nodes.splice(result.dropped_at, 0, h("span", { class: "line dropped",
        text: `… ${result.dropped_lines.toLocaleString("en-US")} lines dropped by the run's console limit …\n` }));
    }
    this.pre.append(...nodes);
    this.count += result.lines.length;
    while (this.pre.childElementCount > KEEP) {
      this.pre.firstElementChild.remove();
      this.cut += 1;
    }
    if (atBottom) this.pre.scrollTop = this.pre.scrollHeight;
    const earlier = this.first || this.cut ? ` (the last ${Math.min(this.count, KEEP).toLocaleString("en-US")}; `
      + `epochlog logs ${this.id} prints them all)` : "";
    this.meta.textContent = `${this.count.toLocaleString("en-US")} lines${earlier}`;
  }
}
