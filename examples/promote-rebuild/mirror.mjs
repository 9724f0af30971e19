/**
 * Mirrors live traffic to a rebuilt index through the SDK, for the README's "Promote an index rebuild safely". Run from
 * the repository root while `npm start` serves and the gate has v1 active (after `npm run build`, which builds the SDK):
 *
 *   node examples/promote-rebuild/mirror.mjs [--rounds N] [--url URL]     (SCOREGATE_URL works too)
 *
 * Each line of fixtures/walkthrough/live.ndjson is one live query: its user, and the reranked scores it got from the v1
 * and from the v2 index. Each round (N of them, default 3) serves every query once with new user ids; what the service
 * does with each query is mirror-rounds.mjs: it serves the query through `gate()` with the user as assignment key
 * (during a promotion the key's arm decides which index version answers) and mirrors it to v2 through `shadow()`.
 * Pushed changes are on (`stream: true`), so a promotion step reaches this process as soon as it is decided. At the
 * end it prints what was served per arm and reported per shadow. When some thresholds were not scoregate's (the
 * server down, a refused token, no active calibration: the SDK served the fallback) or some reports were not
 * accepted, it says how many and the client's last error; it exits 1 when no threshold came from scoregate, and 2 on a
 * flag mistake.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { mirrorRounds } from "./mirror-rounds.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
// The SDK is imported from its build: say so instead of a module-not-found stack trace when it was not built yet.
if (!existsSync(join(ROOT, "packages/client/dist/stream.js"))) {
  console.error("examples/promote-rebuild/mirror.mjs: the SDK is not built yet; run `npm run build` in the repository root first");
  process.exit(1);
}
const { shadow } = await import("../../packages/client/dist/shadow.js");
const { ScoregateClient } = await import("../../packages/client/dist/stream.js");
const USAGE = "usage: node examples/promote-rebuild/mirror.mjs [--rounds N] [--url URL]";
/** Rounds when --rounds is not given, and the most one run may ask (each round is 1,000 queries). */
const DEFAULT_ROUNDS = 3;
const MAX_ROUNDS = 1000;
const FLAGS = ["rounds", "url", "help"];

/** A flag mistake: one line and exit 2, before anything is sent. */
function usageError(message) {
  console.error(`examples/promote-rebuild/mirror.mjs: ${message}`);
  process.exit(2);
}

/** Edit distance, for "did you mean" on a mistyped flag. */
function distance(a, b) {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

const { values: opts, tokens } = parseArgs({
  options: { url: { type: "string" }, rounds: { type: "string" }, help: { type: "boolean" } },
  strict: false,
  allowPositionals: true,
  tokens: true,
});
for (const token of tokens) {
  if (token.kind === "positional") usageError(`unexpected argument "${token.value}"`);
  if (token.kind !== "option") continue;
  if (!FLAGS.includes(token.name)) {
    const near = FLAGS.find((f) => distance(f, token.name) <= 2);
    usageError(`unknown flag ${token.rawName}: ${near ? `did you mean --${near}?` : "the flags are --rounds N and --url URL"}`);
  }
  if (token.name !== "help" && typeof opts[token.name] !== "string") usageError(`${token.rawName} needs a value`);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
const baseUrl = opts.url ?? process.env.SCOREGATE_URL ?? "http://localhost:8787";
const rounds = opts.rounds === undefined ? DEFAULT_ROUNDS : /^\d+$/u.test(opts.rounds.trim()) ? Number(opts.rounds) : Number.NaN;
if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= MAX_ROUNDS)) {
  usageError(`--rounds "${opts.rounds}" is not valid: it must be a whole number from 1 to ${MAX_ROUNDS}`);
}
const gate = { index: "docs", embedding: "intfloat/e5-large-v2", reranker: "BAAI/bge-reranker-v2-m3" };
const lines = readFileSync(join(ROOT, "fixtures/walkthrough/live.ndjson"), "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l));

const client = new ScoregateClient({ baseUrl, token: process.env.SCOREGATE_TOKEN ?? "dev-read", stream: true });
client.subscribe((e) => {
  // the state sent when the stream connects is the gate's last change (snapshot): not a change pushed now
  if (e.type === "gate")
    console.log(`${e.snapshot ? "current" : "pushed"}: ${e.event.seq} ${e.event.kind}${e.event.reason ? ` (${e.event.reason})` : ""}`);
});

// Why each query got the threshold it was gated with: calibrated, cached or stale came from scoregate; fallback and
// uncalibrated are the 0.4 in code (the server unreachable or refusing the token; the gate serving no calibration).
const reasons = new Map();
let lastError;
const onQuery = ({ result }) => {
  reasons.set(result.reason, (reasons.get(result.reason) ?? 0) + 1);
  if (result.error !== undefined) lastError = result.error;
};
const { served, shadowed } = await mirrorRounds(client, lines, { gate, rounds, shadow, onQuery });
const { stats } = await client.close();
console.log(`served: ${[...served].map(([arm, n]) => `${n} ${arm}`).join(", ")}`);
console.log(`mirrored: ${[...shadowed].map(([id, n]) => `${n} to shadow ${id}`).join(", ") || "none (no shadow)"}`);

const count = (...rs) => rs.reduce((n, r) => n + (reasons.get(r) ?? 0), 0);
const fromScoregate = count("calibrated", "cached", "stale");
const notFromScoregate = count("fallback", "uncalibrated");
if (notFromScoregate > 0) {
  const kinds = ["fallback", "uncalibrated"].filter((r) => reasons.has(r)).map((r) => `${reasons.get(r)} ${r}`);
  console.log(`thresholds: ${fromScoregate} from scoregate, ${kinds.join(", ")} (gated with the fallback 0.4)`);
  if (count("uncalibrated") > 0)
    console.log('  the gate serves no calibration yet: upload and activate v1 first (the README\'s "Promote an index rebuild safely", step 1)');
}
const error = client.authError ?? lastError ?? stats.lastError;
if (error !== undefined && notFromScoregate > 0) console.log(`  last error: ${error.code}: ${error.message}`);
const unsent = stats.queued + stats.rejected + stats.droppedForMemory;
if (unsent > 0) {
  console.log(
    `observations: ${stats.sent} queries reported, ${unsent} not (${stats.rejected} refused, ${stats.queued} unsent, ${stats.droppedForMemory} dropped)` +
      (stats.lastError ? `; last error: ${stats.lastError.code}: ${stats.lastError.message}` : ""),
  );
}
if (fromScoregate === 0) {
  console.error(`examples/promote-rebuild/mirror.mjs: no threshold came from scoregate at ${baseUrl}: nothing was served or mirrored through it`);
  process.exit(1);
}
