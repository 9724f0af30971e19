/**
 * What an isolate remembers lives in one place, src/worker/isolate.ts. The test setups rely on it: the Node and
 * workerd projects evaluate src/ once per process and give each test file an empty isolate memory instead of
 * re-evaluating every module (test/support/setup-*-file.ts), which is a clean slate only while no other module keeps
 * state. This reads every module of src/, packages/*\/src and test/support for a top-level `let`, `var` or
 * `const x = new ...` and holds each one found to the list below, each with why it keeps nothing a caller could see.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../bench/lib/worker.mjs";

const STATELESS: Record<string, string> = {
  "src/stats/calibration-margin.ts:memo": "a pure function's memo, bounded (MEMO_ENTRIES): it changes no answer",
  "src/monitoring/drift-state.ts:DRIFT_KINDS": "a constant set, never written",
  "packages/client/src/gate-stream.ts:FALLBACK_STATUSES": "a constant set, never written",
  "packages/cli/src/query-column.ts:CANDIDATE_STEMS": "a constant set, never written",
  "packages/cli/src/http.ts:NOT_SENT_CODES": "a constant set, never written",
  "packages/openfeature/src/index.ts:UNANSWERED": "a constant set, never written",
  "src/monitoring/shadow-window-listener.ts:LEAVES_SHADOW_SET": "a constant set, never written",
  "src/promotions/paused-alert.ts:PAUSE_ENDS": "a constant set, never written",
  "src/platform/auth.ts:KNOWN_SCHEMES": "a constant set, never written",
  "src/platform/http/body.ts:decoder": "a TextDecoder used without `stream`: each decode() starts afresh",
  "src/platform/digest.ts:encoder": "a TextEncoder: stateless",
  "src/dashboard/session-token.ts:encoder": "a TextEncoder: stateless",
  "packages/client/src/assignment.ts:encoder": "a TextEncoder made on first use: stateless",
  "packages/cli/src/cli.ts:interrupted": "the bin's entry: one process per command, never imported by a test",
  "test/support/worker.ts:counter": "uniqueGate's counter: it only grows, so names stay unique across files",
  "test/support/webhook-receiver.ts:hooks": "vitest's global setup: runs in the main process, not in a test file",
  "test/support/webhook-receiver.ts:server": "vitest's global setup: runs in the main process, not in a test file",
  "test/support/webhook-receiver.ts:hanging": "vitest's global setup: runs in the main process, not in a test file",
};
/** Hono routers: routes are registered while the module is evaluated and never change afterwards. */
const ROUTER = /^new Hono\b/u;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|tsx|mjs)$/u.test(e.name) && !e.parentPath.includes("node_modules") && !e.parentPath.includes("/dist"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** A module's top-level `let` / `var` declarations and `const`s made with `new`: [name, initialiser]. */
function declarations(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of text.split("\n")) {
    const m =
      /^(?:export )?(?:let|var) ([A-Za-z_$][\w$]*)(.*)$/u.exec(line) ?? /^(?:export )?const ([A-Za-z_$][\w$]*)(?::[^=]+)? = (new .*)$/u.exec(line);
    if (m) out.push([m[1]!, (m[2] ?? "").trim()]);
  }
  return out;
}

/** Every module value of src/, packages/*\/src and test/support, as "file:name" -> its initialiser. */
function moduleState(): Map<string, string> {
  const found = new Map<string, string>();
  const packages = readdirSync(join(ROOT, "packages"), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => `packages/${e.name}/src`);
  for (const file of [...sources("src"), ...packages.flatMap(sources), ...sources("test/support")]) {
    for (const [name, init] of declarations(readFileSync(join(ROOT, file), "utf8"))) found.set(`${file}:${name}`, init);
  }
  return found;
}

describe("module state", () => {
  it("lives in src/worker/isolate.ts; every other module value found keeps nothing a caller could see", () => {
    const found = moduleState();
    const unexplained = [...found].filter(([key, init]) => !(key in STATELESS) && !ROUTER.test(init)).map(([key]) => key);
    expect(unexplained).toEqual([]);
    // the list names only what is still there
    expect(Object.keys(STATELESS).filter((key) => !found.has(key))).toEqual([]);
  });

  it("finds what would keep state: a top-level let, var or const made with new, not a declaration inside a function", () => {
    const text = [
      "let hits = 0;",
      "export var last: string | undefined;",
      "export const seen: Map<string, number> = new Map();",
      "const LIMIT = 10;",
      "function f() {",
      "  let local = new Map();",
      "}",
    ].join("\n");
    expect(declarations(text)).toEqual([
      ["hits", "= 0;"],
      ["last", ": string | undefined;"],
      ["seen", "new Map();"],
    ]);
  });
});
