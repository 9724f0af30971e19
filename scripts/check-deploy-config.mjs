#!/usr/bin/env node
// `npm run deploy` runs this before `wrangler deploy`: it refuses to upload while wrangler.toml still holds the
// placeholder D1 database id or KV namespace id (a Worker deployed with them cannot reach its storage), and names the
// commands that create the real ones; it also refuses an OBSERVATION_INGEST var the Worker would refuse at runtime,
// and queue mode without its producer binding and consumer. `npm run deploy:dry` (the CI bundle check) does not run it.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The ids wrangler.toml ships with: valid-looking, but no real database or namespace has them. */
export const PLACEHOLDER_IDS = ["00000000-0000-4000-8000-000000000000", "00000000000000000000000000000000"];

/** Problems with the storage ids of a wrangler.toml text (empty: ready to deploy). */
export function deployConfigProblems(toml) {
  const problems = [];
  const ids = [
    ["database_id", "D1 database", "npx wrangler d1 create scoregate"],
    ["id", "KV namespace", "npx wrangler kv namespace create THRESHOLDS"],
  ];
  for (const [key, what, command] of ids) {
    const values = [...toml.matchAll(new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, "gmu"))].map((m) => m[1]);
    if (values.length === 0) problems.push(`no ${key} for the ${what} in wrangler.toml: run \`${command}\` and put its id there`);
    for (const v of values) {
      if (PLACEHOLDER_IDS.includes(v) || /^[0-]*$/u.test(v)) {
        problems.push(`wrangler.toml still has the placeholder ${what} id ${key} = "${v}": run \`${command}\` and put the printed id there`);
      }
    }
  }
  problems.push(...ingestProblems(toml));
  return problems;
}

/** The values OBSERVATION_INGEST takes (src/monitoring/observation-queue.ts OBSERVATION_INGEST_MODES). */
export const OBSERVATION_INGEST_MODES = ["direct", "queue"];

/** The observation queue commands a deploy needs once, since wrangler.toml declares the queue and its consumer. */
export const QUEUE_CREATE_COMMANDS = ["npx wrangler queues create scoregate-observations", "npx wrangler queues create scoregate-observations-dlq"];

/** Problems with OBSERVATION_INGEST and the observation queue's declarations (empty: consistent). */
export function ingestProblems(toml) {
  const problems = [];
  const mode = /^\s*OBSERVATION_INGEST\s*=\s*"([^"]*)"/mu.exec(toml)?.[1];
  if (mode === undefined || mode === "" || mode === "direct") return problems;
  if (!OBSERVATION_INGEST_MODES.includes(mode)) {
    problems.push(`OBSERVATION_INGEST = "${mode}" in wrangler.toml is not a mode: use "direct" or "queue"`);
    return problems;
  }
  if (!/^\s*binding\s*=\s*"OBSERVATIONS_QUEUE"/mu.test(toml)) {
    problems.push('OBSERVATION_INGEST = "queue" needs the producer binding OBSERVATIONS_QUEUE under [[queues.producers]] in wrangler.toml');
  }
  if (!/^\s*\[\[queues\.consumers\]\]/mu.test(toml)) {
    problems.push(
      'OBSERVATION_INGEST = "queue" needs a [[queues.consumers]] entry for the observation queue in wrangler.toml (nothing would count the batches)',
    );
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = process.argv[2] ?? "wrangler.toml";
  const problems = deployConfigProblems(readFileSync(path, "utf8"));
  if (problems.length > 0) {
    console.error(`scoregate: not deploying.\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    process.exit(1);
  }
  if (/^\s*\[\[queues\.producers\]\]/mu.test(readFileSync(path, "utf8"))) {
    console.error(`scoregate: wrangler.toml declares the observation queue; create it once per account: ${QUEUE_CREATE_COMMANDS.join(" && ")}`);
  }
}
