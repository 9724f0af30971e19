#!/usr/bin/env node
// `npm run deploy` runs this before `wrangler deploy`: it refuses to upload while wrangler.toml still holds the
// placeholder D1 database id or KV namespace id (a Worker deployed with them cannot reach its storage), and names the
// commands that create the real ones. `npm run deploy:dry` (the CI bundle check) does not run it.
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
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = process.argv[2] ?? "wrangler.toml";
  const problems = deployConfigProblems(readFileSync(path, "utf8"));
  if (problems.length > 0) {
    console.error(`scoregate: not deploying.\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    process.exit(1);
  }
}
