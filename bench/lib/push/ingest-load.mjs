/**
 * The observation load of `bench/push-propagation.mjs --ingest`, in a worker thread so the subscribers' frames
 * parsed on the main thread do not delay its timing: `connections` closed loops posting one observation batch each
 * (unique ids), for `ms`; answers the latencies (ms) of the 2xx answers and the count of the others.
 */
import { Worker } from "node:worker_threads";
import { GATE, opts } from "./options.mjs";

const INGEST_LOAD = `
const { parentPort, workerData } = require("node:worker_threads");
const { url, gate, connections, ms, prefix } = workerData;
const lat = [];
let failed = 0;
let n = 0;
const end = performance.now() + ms;
async function loop(c) {
  while (performance.now() < end) {
    const queries = Array.from({ length: 20 }, (_, i) => [20, (n + i + c) % 9]);
    const body = JSON.stringify({ batch_id: prefix + "-" + c + "-" + ++n, ...gate, queries });
    const t0 = performance.now();
    try {
      const res = await fetch(url, { method: "POST", headers: { authorization: "Bearer dev-read", "content-type": "application/json" }, body });
      await res.arrayBuffer();
      if (res.status >= 200 && res.status < 300) lat.push(performance.now() - t0);
      else failed++;
    } catch {
      failed++;
    }
  }
}
Promise.all(Array.from({ length: connections }, (_, c) => loop(c))).then(() => parentPort.postMessage({ lat, failed }));
`;

/** One run of the load against `url` for `ms`, batch ids starting with `prefix`; resolves to { lat, failed }. */
export function ingestLoad(url, ms, prefix) {
  return new Promise((done, fail) => {
    const w = new Worker(INGEST_LOAD, {
      eval: true,
      workerData: { url: new URL("/v1/observations", url).href, gate: GATE, connections: Number(opts.connections), ms, prefix },
    });
    w.once("message", done);
    w.once("error", fail);
  });
}
