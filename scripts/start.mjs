#!/usr/bin/env node
// `npm start [-- wrangler dev args]`: apply D1 migrations to the local database, then serve scoregate with
// `wrangler dev` in development mode (local D1, KV and Durable Objects under .wrangler/state, or --persist-to).
// Extra arguments such as `--port 9000` pass through to wrangler dev.
import { spawn, spawnSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The port wrangler dev is asked for when `--port` is not given (its own default). */
export const DEFAULT_PORT = "8787";

/** The value of `--flag value` or `--flag=value` in `args`, else undefined. */
export function argValue(args, flag) {
  const i = args.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  if (i < 0) return undefined;
  return args[i].includes("=") ? args[i].split("=").slice(1).join("=") : args[i + 1];
}

/** The URL of wrangler's "Ready on <url>" line in `text` (colour codes ignored), or null when there is none. */
export function readyUrl(text) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: wrangler colours its output with ANSI escapes
  const match = /Ready on (https?:\/\/\S+)/u.exec(text.replace(/\u001b\[[0-9;]*m/gu, ""));
  return match ? match[1].replace(/\/$/u, "") : null;
}

/**
 * When wrangler bound another port than the one asked for (without `--port`, wrangler moves on from a taken default
 * port; with one, it stops), what to tell the user: the commands they copy name the requested port, which another
 * server answers, and this server shares that one's local state. Null when the port is the one asked for.
 */
export function portTakenNote(requestedPort, url) {
  const bound = new URL(url).port;
  // port 0 asks for any free port: whichever wrangler bound is the one asked for
  if (bound === "" || bound === String(requestedPort) || String(requestedPort) === "0") return null;
  return [
    `  Port ${requestedPort} was taken, so this server listens on ${bound}: another \`npm start\` is probably running,`,
    `  and http://localhost:${requestedPort} is that one. This one shares its local state (.wrangler/state). To keep them`,
    `  apart, stop this one (Ctrl-C) and start it with a state of its own:`,
    `  npm start -- --port ${bound} --persist-to .wrangler/state-${bound}`,
  ].join("\n");
}

/** What `npm start` prints once wrangler is ready on `url`. */
export function banner(url, requestedPort) {
  const note = portTakenNote(requestedPort, url);
  return `
  scoregate (development) on ${url}
${note ? `\n${note}\n` : ""}
  Local tokens (refused by a production deploy):
    read       dev-read        GET /v1/threshold, /v1/gates, /v1/calibrations, /v1/alerts, /v1/monitor, /metrics;
                               POST /v1/observations, /v1/judgments
    calibrate  dev-calibrate   POST /v1/calibrations (includes read)
    admin      dev-admin       activation, promotions, shadows, alerts, webhooks (includes both)

  Try: curl -H "Authorization: Bearer dev-read" "${url}/v1/gates"
`;
}

function main() {
  const args = process.argv.slice(2);
  const port = argValue(args, "--port") ?? DEFAULT_PORT;
  const persistTo = argValue(args, "--persist-to");

  // wrangler prints a table of every migration after applying each one (about 200 lines on a fresh database): keep
  // its output for a failure and say in one line what was applied.
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

  // wrangler dev downloads a sample `Request.cf` object at start; scoregate does not read `request.cf`, and without a
  // network (or behind a proxy) the failed download prints a warning with a stack trace. Use the built-in placeholder.
  const child = spawn("wrangler", ["dev", "--var", "ENVIRONMENT:development", ...args], {
    stdio: ["inherit", "pipe", "inherit"],
    env: { CLOUDFLARE_CF_FETCH_ENABLED: "false", ...process.env },
  });
  // The banner names the URL wrangler says it is ready on (not the port asked for: without --port, wrangler moves on
  // from a taken default port), so its lines are read whole until that one.
  let pending = "";
  let announced = false;
  child.stdout.on("data", (chunk) => {
    process.stdout.write(chunk);
    if (announced) return;
    pending += String(chunk);
    const end = pending.lastIndexOf("\n");
    if (end < 0) return;
    const url = readyUrl(pending.slice(0, end));
    pending = pending.slice(end + 1);
    if (url !== null) {
      announced = true;
      pending = "";
      process.stdout.write(banner(url, port));
    }
  });
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

// run as a script (also through a symlinked path: import.meta.url has its links resolved, argv[1] not), not imported
const scriptPath = () => {
  try {
    return realpathSync(process.argv[1] ?? "");
  } catch {
    return null; // not run from a file (node -, node -e): imported
  }
};
if (scriptPath() === fileURLToPath(import.meta.url)) main();
