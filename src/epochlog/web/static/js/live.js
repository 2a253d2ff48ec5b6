// Following running experiments: server-sent events say what changed, and `update` fetches just that. When no
// stream can be had (the server's limit, a proxy, a dropped connection) the page polls instead.
import { poll } from "./api.js";

const CHANGES = ["status", "epochs", "series", "console"];

// `update(changes)` gets a Map(id -> Set of what changed), or null for "everything"; polling stops when it
// returns false. Updates never overlap: what arrives meanwhile is gathered into the next one.
export function follow(url, update, ms = 2000) {
  const everything = () => update(null);
  if (typeof EventSource === "undefined") return poll(everything, ms);
  const source = new EventSource(url);
  let busy = false;
  let queued = undefined; // undefined: nothing; null: everything; a Map: some changes
  let stopPolling = null;
  const run = async (changes) => {
    queued = queued === undefined ? changes : merge(queued, changes);
    if (busy) return;
    busy = true;
    while (queued !== undefined) {
      const next = queued;
      queued = undefined;
      try {
        await update(next);
      } catch (error) {
        // the next event or the final read tries again
      }
    }
    busy = false;
  };
  source.addEventListener("open", () => run(null)); // what changed between the page's first read and the stream
  for (const what of CHANGES) {
    source.addEventListener(what, (event) => run(new Map([[JSON.parse(event.data).id, new Set([what])]])));
  }
  source.addEventListener("end", () => {
    source.close();
    run(null);
  });
  source.addEventListener("error", () => {
    source.close();
    if (stopPolling === null) stopPolling = poll(everything, ms);
  });
  return () => {
    source.close();
    if (stopPolling) stopPolling();
  };
}

function merge(into, changes) {
  if (into === null || changes === null) return null;
  for (const [id, kinds] of changes) into.set(id, new Set([...(into.get(id) || []), ...kinds]));
  return into;
}

// Whether `changes` (from `follow`) asks for any of `kinds`, of experiment `id` if given.
export function wants(changes, kinds, id = null) {
  if (changes === null) return true;
  const ids = id === null ? Array.from(changes.keys()) : [id];
  return ids.some((key) => kinds.some((kind) => changes.get(key)?.has(kind)));
}
