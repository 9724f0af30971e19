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
 * end it prints what was served per arm and reported per shadow.
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

const { served, shadowed } = await mirrorRounds(client, lines, { gate, rounds, shadow });
await client.close();
console.log(`served: ${[...served].map(([arm, n]) => `${n} ${arm}`).join(", ")}`);
console.log(`mirrored: ${[...shadowed].map(([id, n]) => `${n} to shadow ${id}`).join(", ") || "none (no shadow)"}`);
