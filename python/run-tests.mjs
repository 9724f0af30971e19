/**
 * Runs the Python client's tests against the INSTALLED package, on the oldest Python the package claims and on the
 * newest one claimed that this machine has (SCOREGATE_PYTHONS=all: every claimed one it has; or a comma-separated list
 * of interpreters). For each: a fresh virtual environment in a temporary folder outside the repository,
 * `python -m pip install ./python` run from the repository root (the command the README gives), then
 * `python -m unittest discover` from the temporary folder, so `import scoregate` can only find the installed copy.
 * One local Worker (bench/lib/worker.mjs: workerd, local D1/KV/DO, the dev tokens) serves every run.
 *
 *   npm run test:python
 *
 * Prints one line per Python ("python 3.9.18: installed in 4.2 s; 131 tests in 21.0 s, OK") and ends with the line
 * .ci/run reads: "python: N tests, OK" or "python: N tests, FAILED (...)".
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startWorker } from "../bench/lib/worker.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");

/** Runs a command; resolves with its exit code and what it printed (stderr is also echoed when `echo` is set). */
function run(cmd, args, { cwd, env, echo = false }) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const take = (stream) => (d) => {
      out += d;
      if (echo) stream.write(d);
    };
    child.stdout.on("data", take(process.stdout));
    child.stderr.on("data", take(process.stderr));
    child.on("error", (e) => done({ code: 1, out: `${out}\ncould not run ${cmd}: ${e.message}` }));
    child.on("close", (code) => done({ code: code ?? 1, out }));
  });
}

/** The Python versions pyproject.toml claims: requires-python's minimum and the "Python :: 3.N" classifiers. */
function claimedMinors() {
  const text = readFileSync(join(here, "pyproject.toml"), "utf8");
  const minimum = /requires-python\s*=\s*">=\s*3\.(\d+)"/u.exec(text)?.[1];
  const minors = [...text.matchAll(/"Programming Language :: Python :: 3\.(\d+)"/gu)].map((m) => Number(m[1]));
  if (minimum === undefined || minors.length === 0) throw new Error("python/pyproject.toml: no requires-python >=3.N or no version classifiers");
  return { oldest: Number(minimum), minors: [...new Set(minors)].sort((a, b) => a - b) };
}

/** An interpreter for 3.<minor>: pyenv's newest patch release of it, else python3.<minor> on PATH; null if none. */
async function findPython(minor) {
  const pyenvRoot = process.env.PYENV_ROOT ?? join(process.env.HOME ?? "/root", ".pyenv");
  const versions = join(pyenvRoot, "versions");
  if (existsSync(versions)) {
    const found = readdirSync(versions)
      .filter((v) => new RegExp(`^3\\.${minor}\\.\\d+$`, "u").test(v))
      .sort((a, b) => Number(a.split(".")[2]) - Number(b.split(".")[2]))
      .map((v) => join(versions, v, "bin", "python"))
      .filter((p) => existsSync(p));
    if (found.length > 0) return found.at(-1);
  }
  const onPath = await run(`python3.${minor}`, ["-c", ""], { cwd: root, env: process.env });
  return onPath.code === 0 ? `python3.${minor}` : null;
}

async function pythonsToTest() {
  const chosen = process.env.SCOREGATE_PYTHONS;
  if (chosen !== undefined && chosen !== "all") return chosen.split(",").filter((p) => p !== "");
  const { oldest, minors } = claimedMinors();
  const available = [];
  for (const m of minors) {
    const p = await findPython(m);
    if (p !== null) available.push({ minor: m, path: p });
  }
  if (!available.some((a) => a.minor === oldest)) throw new Error(`no Python 3.${oldest} here (the oldest the package claims)`);
  if (chosen === "all") return available.map((a) => a.path);
  const newest = available.at(-1);
  return newest.minor === oldest ? [newest.path] : [available[0].path, newest.path];
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** Creates the venv, installs ./python into it, runs the suite; returns { version, tests, verdict, ok, line }. */
async function testWith(python, tmp, url) {
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: "1" };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  const version = (await run(python, ["-c", "import platform; print(platform.python_version())"], { cwd: tmp, env })).out.trim() || python;
  const venv = join(tmp, `venv-${version}`);
  const venvPython = join(venv, "bin", "python");
  const started = performance.now();
  const made = await run(python, ["-m", "venv", venv], { cwd: tmp, env });
  if (made.code !== 0) return { version, tests: 0, ok: false, verdict: "FAILED (venv)", line: `python ${version}: could not create a venv:\n${made.out}` };
  // An unreachable package index fails at once instead of after pip's retries (pip finds flit_core in the indexes
  // this machine's pip configuration names).
  const pipEnv = { ...env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_RETRIES: env.PIP_RETRIES ?? "0" };
  const installed = await run(venvPython, ["-m", "pip", "install", "./python"], { cwd: root, env: pipEnv });
  const installMs = performance.now() - started;
  if (installed.code !== 0) {
    return { version, tests: 0, ok: false, verdict: "FAILED (install)", line: `python ${version}: python -m pip install ./python failed:\n${installed.out}` };
  }
  const suiteStarted = performance.now();
  const tests = join(here, "tests");
  const suite = await run(venvPython, ["-m", "unittest", "discover", "-s", tests, "-t", tests], {
    cwd: tmp,
    env: { ...env, SCOREGATE_URL: url, SCOREGATE_INSTALLED_IN: venv },
    echo: true,
  });
  const suiteMs = performance.now() - suiteStarted;
  const ran = Number(/Ran (\d+) tests?/u.exec(suite.out)?.[1] ?? "0");
  const verdict = /^(OK.*|FAILED.*)$/mu.exec(suite.out)?.[1] ?? (suite.code === 0 ? "OK" : "FAILED");
  const ok = suite.code === 0 && ran > 0;
  return { version, tests: ran, ok, verdict, line: `python ${version}: installed in ${seconds(installMs)}; ${ran} tests in ${seconds(suiteMs)}, ${verdict}` };
}

const tmp = mkdtempSync(join(tmpdir(), "scoregate-python-"));
const results = [];
let failure = null;
let worker = null;
try {
  const pythons = await pythonsToTest();
  worker = await startWorker();
  for (const python of pythons) results.push(await testWith(python, tmp, worker.url.origin));
} catch (e) {
  failure = e instanceof Error ? e.message : String(e);
} finally {
  await worker?.close();
  rmSync(tmp, { recursive: true, force: true });
}
for (const r of results) console.log(r.line);
const total = results.reduce((n, r) => n + r.tests, 0);
const ok = failure === null && results.length > 0 && results.every((r) => r.ok);
const versions = results.map((r) => `${r.version} ${r.ok ? r.tests : r.verdict}`).join(", ");
if (failure !== null) console.log(`python: could not run the tests: ${failure}`);
console.log(ok ? `python: ${total} tests (${versions}), OK` : `python: ${total} tests, FAILED (${failure ?? versions})`);
process.exit(ok ? 0 : 1);
