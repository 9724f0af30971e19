/**
 * Mirrors live traffic to a rebuilt index through the SDK, for the README's "Promote an index rebuild safely". Run from
 * the repository root while `npm start` serves and the gate has v1 active (after `npm run build`, which builds the SDK):
 *
 *   node examples/promote-rebuild/mirror.mjs [--rounds N] [--url URL]     (SCOREGATE_URL works too)
 *
 * Each line of fixtures/walkthrough/live.ndjson is one live query: its user, and the reranked scores it got from the v1
 * and from the v2 index. For every query (repeated N times, default 3, each round with new user ids) the service:
 * - serves it through `gate()` with the user as assignment key: during a promotion the key's arm decides which index
 *   version answers (the result names it), so the scores of that index are gated;
 * - mirrors it to v2 through `shadow()`: each shadow of the gate whose sample takes the user gets the counts.
 * Pushed changes are on (`stream: true`), so a promotion step reaches this process as soon as it is decided. At the
 * end it prints what was served per arm and reported per shadow.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ScoregateClient } from "../../packages/client/dist/stream.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const { values: opts } = parseArgs({ options: { url: { type: "string" }, rounds: { type: "string" } } });
const baseUrl = opts.url ?? process.env.SCOREGATE_URL ?? "http://localhost:8787";
const rounds = Number(opts.rounds ?? 3);
const gate = { index: "docs", embedding: "intfloat/e5-large-v2", reranker: "BAAI/bge-reranker-v2-m3" };
const lines = readFileSync(join(ROOT, "fixtures/walkthrough/live.ndjson"), "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l));

const client = new ScoregateClient({ baseUrl, token: process.env.SCOREGATE_TOKEN ?? "dev-read", stream: true });
client.subscribe((e) => {
  if (e.type === "gate") console.log(`pushed: ${e.event.seq} ${e.event.kind}${e.event.reason ? ` (${e.event.reason})` : ""}`);
});

const served = new Map();
const shadowed = new Map();
for (let round = 0; round < rounds; round++) {
  for (const q of lines) {
    const key = `${q.key}-r${round}`;
    const t = await client.getThreshold(gate, { fallback: 0.4, assignmentKey: key });
    const scores = t.indexVersion === "v2" ? q.v2 : q.v1;
    const r = await client.gate(scores, { gate, score: (s) => s, fallback: 0.4, assignmentKey: key });
    const arm = r.promotion?.arm ?? "no promotion";
    served.set(arm, (served.get(arm) ?? 0) + 1);
    for (const id of await client.shadow(q.v2, { gate, score: (s) => s, key, indexVersion: "v2" })) shadowed.set(id, (shadowed.get(id) ?? 0) + 1);
  }
  await client.flush();
}
await client.close();
console.log(`served: ${[...served].map(([arm, n]) => `${n} ${arm}`).join(", ")}`);
console.log(`mirrored: ${[...shadowed].map(([id, n]) => `${n} to shadow ${id}`).join(", ") || "none (no shadow)"}`);
