/**
 * A calibration's stored distribution in D1: one write and one read of the same summary bytes as a BLOB (how
 * calibrations were stored before) and as base64 text (how they are stored now, src/calibrations/distribution-codec.ts),
 * in one Worker, alternating, in the same run.
 *
 *   node bench/distribution-storage.mjs
 *   node bench/distribution-storage.mjs --rounds 5 --ops 40 --out bench/results/distribution-storage.md
 *
 * What it does: starts a minimal Worker with a local D1 database in workerd through Miniflare directly (not wrangler
 * dev). Each request writes `ops` rows of one summary (48,016 bytes: a bare gate's 2,000 knots; 96,040: a guarded
 * gate's, with 2,000 eligible knots) and reads each back and decodes it to bytes, as D1CalibrationStore does; the two
 * encodings take turns, `rounds` times per size. Reports per write-and-read: the Worker's wall time (which includes
 * the local database's work, as any I/O does) and workerd's CPU time (the Worker's isolate, the binding's
 * serialization, and the local database's own parsing, from /proc), plus the size of what the D1 binding sends for
 * the value (a BLOB parameter is a JSON array with one number per byte).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { cpuSecondsOf, machineInfo, median, ROOT, startInlineWorker } from "./lib/worker.mjs";

const { values: opts } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    ops: { type: "string", default: "40" },
    out: { type: "string", default: "bench/results/distribution-storage.md" },
  },
});
const ROUNDS = Number(opts.rounds);
const OPS = Number(opts.ops);
const OUT = resolve(ROOT, opts.out);
/** A bare gate's summary (16 + 24 x 2,000 bytes) and a guarded gate's (twice that, plus its 24-byte header). */
const SIZES = [16 + 24 * 2000, 2 * (16 + 24 * 2000) + 8];
const log = (...a) => console.error(...a);

const WORKER = `
import { DurableObject } from "cloudflare:workers";
export class Baseline extends DurableObject {}
// Seeded bytes: float64 knots look like random bytes to the encodings compared here.
function bytesOf(n) {
  let a = 12345;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = (t ^ (t >>> 14)) >>> 24;
  }
  return out;
}
function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(s);
}
function fromBase64(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
let next = 0;
export default {
  async fetch(request, env) {
    const q = new URL(request.url).searchParams;
    const form = q.get("form"), ops = Number(q.get("ops")), size = Number(q.get("size"));
    await env.DB.prepare("CREATE TABLE IF NOT EXISTS c (id INTEGER PRIMARY KEY, distribution BLOB NOT NULL)").run();
    const bytes = bytesOf(size);
    const t0 = Date.now();
    let check = 0;
    for (let i = 0; i < ops; i++) {
      const id = ++next;
      await env.DB.prepare("INSERT INTO c (id, distribution) VALUES (?, ?)").bind(id, form === "blob" ? bytes : toBase64(bytes)).run();
      const row = await env.DB.prepare("SELECT distribution FROM c WHERE id = ?").bind(id).first();
      const raw = row.distribution;
      const back = typeof raw === "string" ? fromBase64(raw) : Array.isArray(raw) ? Uint8Array.from(raw) : new Uint8Array(raw);
      if (back.length !== size || back[size - 1] !== bytes[size - 1]) throw new Error("round trip lost bytes");
      check += back[0];
    }
    await env.DB.prepare("DELETE FROM c").run();
    return Response.json({ ms: Date.now() - t0, check });
  },
};`;

const worker = await startInlineWorker(WORKER, { d1: true });
const rows = [];
try {
  const run = async (form, size) => {
    const cpu0 = cpuSecondsOf(worker.workerdPid);
    const res = await fetch(new URL(`/?form=${form}&ops=${OPS}&size=${size}`, worker.url));
    if (!res.ok) throw new Error(`${form} ${size}: ${res.status} ${await res.text()}`);
    const { ms } = await res.json();
    const cpu = cpu0 === null ? null : cpuSecondsOf(worker.workerdPid) - cpu0;
    return { ms: ms / OPS, cpuMs: cpu === null ? null : (1000 * cpu) / OPS };
  };
  for (const size of SIZES) {
    await run("blob", size); // warm-up of both paths
    await run("text", size);
    const got = { blob: [], text: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const form of r % 2 ? ["text", "blob"] : ["blob", "text"]) got[form].push(await run(form, size));
      log(`size ${size}: round ${r + 1}/${ROUNDS}`);
    }
    // What the binding sends for the value: a BLOB as a JSON array of byte values, text as one JSON string.
    const sample = Uint8Array.from({ length: size }, (_, i) => (i * 131 + 7) % 256);
    const wire = { blob: JSON.stringify(Array.from(sample)).length, text: JSON.stringify(Buffer.from(sample).toString("base64")).length };
    for (const form of ["blob", "text"]) {
      rows.push({ size, form, ms: median(got[form].map((g) => g.ms)), cpuMs: median(got[form].map((g) => g.cpuMs)), wire: wire[form] });
    }
  }
} finally {
  await worker.close();
}

const m = machineInfo();
const fmt = (x, d = 2) => (x === null ? "n/a" : x.toFixed(d));
const lines = [
  "# A stored distribution in D1: BLOB against base64 text",
  "",
  `Command: \`node bench/distribution-storage.mjs --rounds ${ROUNDS} --ops ${OPS}\`. ${new Date().toISOString().slice(0, 16)}Z.`,
  `Machine: ${m.nproc} cores (${m.cpu}), Node ${m.node}, workerd ${m.workerd}, Miniflare ${m.miniflare}.`,
  "",
  "Per write and read of one summary, medians of the rounds; ratio = text / BLOB in the same run.",
  "",
  "| summary bytes | stored as | value on the wire (JSON bytes) | Worker wall ms | workerd CPU ms | ratio wall | ratio CPU |",
  "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
];
for (const size of SIZES) {
  const blob = rows.find((r) => r.size === size && r.form === "blob");
  const text = rows.find((r) => r.size === size && r.form === "text");
  for (const r of [blob, text]) {
    const ratio = (a, b) => (a === null || b === null ? "n/a" : (a / b).toFixed(2));
    lines.push(
      `| ${size.toLocaleString("en")} | ${r.form === "blob" ? "BLOB" : "base64 text"} | ${r.wire.toLocaleString("en")} | ${fmt(r.ms)} | ${fmt(r.cpuMs)} | ${r === text ? ratio(text.ms, blob.ms) : ""} | ${r === text ? ratio(text.cpuMs, blob.cpuMs) : ""} |`,
    );
  }
}
const report = `${lines.join("\n")}\n`;
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, report);
process.stdout.write(report);
