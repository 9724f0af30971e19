#!/usr/bin/env node
// `npm start [-- wrangler dev args]`: apply D1 migrations to the local database, then serve scoregate with
// `wrangler dev` in development mode (local D1, KV and Durable Objects under .wrangler/state, or --persist-to).
// Extra arguments such as `--port 9000` pass through to wrangler dev.
import { spawn, spawnSync } from "node:child_process";

const args = process.argv.slice(2);
const argValue = (flag) => {
  const i = args.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  if (i < 0) return undefined;
  return args[i].includes("=") ? args[i].split("=").slice(1).join("=") : args[i + 1];
};
const port = argValue("--port") ?? "8787";
const ip = argValue("--ip") ?? "localhost";
const persistTo = argValue("--persist-to");

// wrangler prints a table of every migration after applying each one (about 200 lines on a fresh database): keep its
// output for a failure and say in one line what was applied.
const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", ...(persistTo ? ["--persist-to", persistTo] : [])], {
  stdio: ["inherit", "pipe", "pipe"],
  encoding: "utf8",
  env: { ...process.env, CI: "true" },
});
if (migrate.status !== 0) {
  process.stdout.write(migrate.stdout ?? "");
  process.stderr.write(migrate.stderr ?? "");
  console.error("scoregate: applying local D1 migrations failed");
  process.exit(migrate.status ?? 1);
}
// wrangler's tables list only the migrations it applies ("No migrations to apply!" when there are none)
const applied = [...new Set((migrate.stdout ?? "").match(/\d{4}_[\w-]+\.sql/gu) ?? [])];
console.log(
  applied.length > 0
    ? `scoregate: applied ${applied.length} local D1 migration(s): ${applied.join(", ")}`
    : "scoregate: local D1 database up to date (no migration to apply)",
);

const banner = `
  scoregate (development) on http://${ip}:${port}

  Local tokens (refused by a production deploy):
    read       dev-read        GET /v1/threshold, /v1/gates, /v1/calibrations, /v1/alerts, /v1/monitor, /metrics;
                               POST /v1/observations, /v1/judgments
    calibrate  dev-calibrate   POST /v1/calibrations (includes read)
    admin      dev-admin       activation, promotions, shadows, alerts, webhooks (includes both)

  Try: curl -H "Authorization: Bearer dev-read" "http://${ip}:${port}/v1/gates"
`;

// wrangler dev downloads a sample `Request.cf` object at start; scoregate does not read `request.cf`, and without a
// network (or behind a proxy) the failed download prints a warning with a stack trace. Use the built-in placeholder.
const child = spawn("wrangler", ["dev", "--var", "ENVIRONMENT:development", ...args], {
  stdio: ["inherit", "pipe", "inherit"],
  env: { CLOUDFLARE_CF_FETCH_ENABLED: "false", ...process.env },
});
let announced = false;
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  if (!announced && /Ready on/u.test(String(chunk))) {
    announced = true;
    process.stdout.write(banner);
  }
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
