/**
 * Runs the Python client's tests against the local worker: starts the Worker in workerd (bench/lib/worker.mjs, local
 * D1/KV/DO, ENVIRONMENT=development with the dev tokens), runs `python3 -m unittest discover` with SCOREGATE_URL set,
 * stops the worker, and ends with one plain line: "python: N tests, OK" or "python: N tests, FAILED (...)".
 *
 *   npm run test:python
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker } from "../bench/lib/worker.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const python = process.env.PYTHON ?? "python3";
const worker = await startWorker();
let code = 1;
let output = "";
try {
  const child = spawn(python, ["-m", "unittest", "discover", "-s", join(here, "tests"), "-t", join(here, "tests"), "-v"], {
    cwd: here,
    env: { ...process.env, SCOREGATE_URL: worker.url.origin, PYTHONPATH: [here, join(here, "tests")].join(":"), PYTHONDONTWRITEBYTECODE: "1" },
    stdio: ["ignore", "inherit", "pipe"],
  });
  child.stderr.on("data", (d) => {
    output += d;
    process.stderr.write(d);
  });
  code = await new Promise((resolve) => {
    child.on("error", (e) => {
      output += `\ncould not run ${python}: ${e.message}`;
      resolve(1);
    });
    child.on("close", (c) => resolve(c ?? 1));
  });
} finally {
  await worker.close();
}
const ran = /Ran (\d+) tests?/u.exec(output)?.[1] ?? "0";
const verdict = /^(OK.*|FAILED.*)$/mu.exec(output)?.[1] ?? (code === 0 ? "OK" : "FAILED");
console.log(`python: ${ran} tests, ${verdict}`);
process.exit(code);
