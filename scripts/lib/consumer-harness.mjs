/**
 * The plumbing of scripts/consumer-test.mjs: child processes with captured output, the Node binaries to test on, an
 * environment for scratch projects that cannot reach back into the repository, and the list of checks with their
 * outcome, time and summary.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, realpathSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./packages.mjs";

/**
 * Runs a command and collects its output; never rejects for an exit code (the caller asserts it). A command still
 * running after `timeoutMs` is killed (SIGKILL) and reported with status null.
 */
export function run(cmd, args, { cwd, env, timeoutMs = 600_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => {
      stdout += c;
    });
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ status: null, stdout, stderr: `${stderr}${e.message}` });
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Throws with the command's output when it did not exit with `expected`. */
export function expectExit(r, expected, what) {
  if (r.status !== expected) throw new Error(`${what}: exit ${r.status}, expected ${expected}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r;
}

/** The Node binaries reachable here: every `node` on PATH outside node_modules, this process's, and the repository's. */
export async function findNodes() {
  const candidates = new Set([realpathSync(process.execPath)]);
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir === "" || dir.includes("node_modules")) continue;
    const bin = join(dir, "node");
    if (existsSync(bin)) candidates.add(realpathSync(bin));
  }
  const local = join(ROOT, "node_modules", ".bin", "node");
  if (existsSync(local)) candidates.add(realpathSync(local));
  const nodes = [];
  for (const bin of candidates) {
    const r = await run(bin, ["--version"]);
    const version = r.stdout.trim();
    const major = Number(/^v(\d+)\./u.exec(version)?.[1]);
    if (r.status === 0 && Number.isFinite(major)) nodes.push({ bin, version, major });
  }
  return nodes.sort((a, b) => a.major - b.major);
}

/**
 * A PATH directory holding only a `node` link to `bin`, so that `npx`, shebangs (`#!/usr/bin/env node`) and npm
 * scripts in a scratch project run that Node, and nothing else of the repository is on PATH.
 */
export function nodeBinDir(base, node) {
  const dir = join(base, `node-${node.major}`);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    symlinkSync(node.bin, join(dir, "node"));
  }
  return dir;
}

/**
 * The environment of a command in a scratch project: PATH without any node_modules/.bin (npm run puts the
 * repository's first) and with the chosen Node in front, and no npm_* variables or NODE_PATH inherited from the
 * `npm run` that started this script.
 */
export function scratchEnv(nodeDir, extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/iu.test(k) || k === "NODE_PATH" || k === "NODE_OPTIONS" || k === "INIT_CWD") continue;
    env[k] = v;
  }
  const path = (process.env.PATH ?? "").split(":").filter((p) => p !== "" && !p.includes("node_modules") && !p.startsWith(ROOT));
  env.PATH = [nodeDir, ...path].join(":");
  return { ...env, FORCE_COLOR: "0", NO_COLOR: "1", ...extra };
}

/** The checks of one run: each with its outcome and time, skipped when a check it needs did not pass. */
export class Checks {
  #results = [];
  #passed = new Set();

  /**
   * Runs `fn` (which throws on failure) unless one of `needs` failed or was skipped; returns its value or undefined.
   * A string value, or a value's `detail`, is printed with the outcome.
   */
  async check(name, fn, { needs = [] } = {}) {
    const missing = needs.filter((n) => !this.#passed.has(n));
    if (missing.length > 0) {
      this.#results.push({ name, status: "skip", seconds: 0, detail: `needs: ${missing.join(", ")}` });
      console.log(`skip  ${name} (needs: ${missing.join(", ")})`);
      return undefined;
    }
    const started = performance.now();
    try {
      const value = await fn();
      const seconds = (performance.now() - started) / 1000;
      const detail = typeof value === "string" ? value : typeof value?.detail === "string" ? value.detail : "";
      this.#results.push({ name, status: "ok", seconds, detail });
      this.#passed.add(name);
      console.log(`ok    ${name} (${seconds.toFixed(1)} s)${detail ? `: ${detail}` : ""}`);
      return value;
    } catch (e) {
      const seconds = (performance.now() - started) / 1000;
      const detail = e instanceof Error ? e.message : String(e);
      this.#results.push({ name, status: "FAIL", seconds, detail });
      console.log(`FAIL  ${name} (${seconds.toFixed(1)} s)\n${detail.replace(/^/gmu, "      ")}`);
      return undefined;
    }
  }

  get failed() {
    return this.#results.filter((r) => r.status !== "ok");
  }

  summary() {
    const width = Math.max(...this.#results.map((r) => r.name.length));
    return this.#results.map((r) => `${r.status.padEnd(4)}  ${r.name.padEnd(width)}  ${r.seconds.toFixed(1).padStart(6)} s`).join("\n");
  }
}

/** Polls `probe` (which returns a truthy value when done) every `everyMs` until `timeoutMs`; throws `what` on timeout. */
export async function waitFor(probe, what, { timeoutMs = 15_000, everyMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
