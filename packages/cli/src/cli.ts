#!/usr/bin/env node
/** The process entry of the `scoregate` bin (built to dist/cli.js, the package's bin). */
import { interruption } from "./interrupted";
import { run } from "./main";

// `scoregate ... | head` closes stdout early: stop quietly instead of crashing on EPIPE
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});

// `scoregate watch` runs until interrupted: ^C ends it with exit 0. Every other command stops at once, with the
// shell's codes (130 for SIGINT, 143 for SIGTERM) and a line saying so: a pipeline that cancels a calibrate must not
// see it go on to upload and serve. What may already have reached the server, the line says and where to look: an
// upload, a promotion's start or override; and a promotion waited for (--wait) goes on, only the wait stopped.
const interrupted = new AbortController();
const { quiet, note } = interruption(process.argv.slice(2));
for (const s of ["SIGINT", "SIGTERM"] as const) {
  process.once(s, () => {
    interrupted.abort();
    if (quiet) return;
    process.stderr.write(`scoregate: interrupted by ${s}, stopped${note}\n`);
    process.exit(s === "SIGINT" ? 130 : 143);
  });
}

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  stdin: process.stdin,
  signal: interrupted.signal,
});
