#!/usr/bin/env node
/** The process entry of the `scoregate` bin (built to dist/cli.js, the package's bin). */
import { run } from "./main";

// `scoregate ... | head` closes stdout early: stop quietly instead of crashing on EPIPE
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});

// `scoregate watch` runs until interrupted: ^C ends it with exit 0
const interrupted = new AbortController();
for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => interrupted.abort());

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stdin: process.stdin,
  signal: interrupted.signal,
});
