/**
 * What an isolate remembers lives in one place, src/worker/isolate.ts. The test setups rely on it: the Node and
 * workerd projects evaluate src/ once per process and give each test file an empty isolate memory instead of
 * re-evaluating every module (test/support/setup-*-file.ts), which is a clean slate only while no other module keeps
 * state. This reads every module of src/, packages/*\/src and test/support for a top-level `let`, `var` or
 * `const x = new ...`, and for a top-level array or object (`const x = [` or `{`) that a module writes to (an
 * assignment to it or into it, `push`, `splice`, `set`, `add`, `delete`, `Object.assign`, in its own module or in one
 * that imports it), and holds each one found to the list below, each with why it keeps nothing a caller could see.
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
  "src/dashboard/data/alerts.ts:WATCHES_ONE_CALIBRATION": "a constant set, never written",
  "src/platform/auth.ts:KNOWN_SCHEMES": "a constant set, never written",
  "src/platform/http/body.ts:decoder": "a TextDecoder used without `stream`: each decode() starts afresh",
  "src/platform/digest.ts:encoder": "a TextEncoder: stateless",
  "src/dashboard/session-token.ts:encoder": "a TextEncoder: stateless",
  "packages/client/src/assignment.ts:encoder": "a TextEncoder made on first use: stateless",
  "packages/cli/src/cli.ts:interrupted": "the bin's entry: one process per command, never imported by a test",
  "test/support/worker.ts:counter": "uniqueGate's counter: it only grows, so names stay unique across files",
  "test/support/abort-objects.ts:aborted":
    "carried on purpose: the flag a file that aborted every object leaves for the next file's setup, which reopens the objects and clears it",
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

/** A module's top-level arrays and objects (`const x = [...]`, `const x: T = {...}`): their names. */
function literals(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^(?:export )?const ([A-Za-z_$][\w$]*)(?::[^=]+)? = [[{]/u.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** Whether `text` writes to the value named `name` or into it (not to a local of the same name declared in `text`). */
function writesTo(text: string, name: string): boolean {
  const at = `(?<![\\w$.])${name.replaceAll("$", "\\$")}(?:\\.[A-Za-z_$][\\w$]*|\\[[^\\]\\n]*\\])*`;
  const patterns = [
    new RegExp(`${at}\\s*(?:[-+*/%&|^]|\\?\\?|\\|\\||&&)?=(?!=)`, "u"),
    new RegExp(`${at}\\s*(?:\\+\\+|--)`, "u"),
    new RegExp(`${at}\\.(?:push|pop|shift|unshift|splice|sort|reverse|fill|copyWithin|set|add|delete|clear)\\(`, "u"),
    new RegExp(`\\bdelete ${at}`, "u"),
    new RegExp(`Object\\.(?:assign|defineProperty|setPrototypeOf)\\(${at}\\s*,`, "u"),
  ];
  // the declaration itself (`const name = ...` at the top level) is no write
  const body = text.replace(new RegExp(`^(?:export )?const ${name.replaceAll("$", "\\$")}\\b`, "gmu"), "");
  return patterns.some((p) => p.test(body));
}

/** Every module value of src/, packages/*\/src and test/support, as "file:name" -> its initialiser. */
function moduleState(): Map<string, string> {
  const found = new Map<string, string>();
  const packages = readdirSync(join(ROOT, "packages"), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => `packages/${e.name}/src`);
  const files = [...sources("src"), ...packages.flatMap(sources), ...sources("test/support")];
  const texts = new Map(files.map((file) => [file, readFileSync(join(ROOT, file), "utf8")]));
  for (const [file, text] of texts) {
    for (const [name, init] of declarations(text)) found.set(`${file}:${name}`, init);
    for (const name of literals(text)) {
      // written in its own module, or in a module that imports it by name (the cheap substring test first)
      const imports = new RegExp(`import [^;]*\\b${name}\\b[^;]*from`, "u");
      const importers = [...texts.values()].filter((t) => t !== text && t.includes(name) && imports.test(t));
      if ([text, ...importers].some((t) => writesTo(t, name))) found.set(`${file}:${name}`, "a literal written to");
    }
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

  it("finds a top-level array or object that a module writes to, and passes one only read", () => {
    const text = [
      "export const recent: string[] = [];",
      "const byGate = {};",
      "const counts = { hits: 0 };",
      "const KINDS = ['a', 'b'];",
      "const TABLE: Record<string, number> = { a: 1 };",
    ].join("\n");
    expect(literals(text)).toEqual(["recent", "byGate", "counts", "KINDS", "TABLE"]);
    const writes = [
      "recent.push(id);",
      "recent.splice(0, 1);",
      "byGate[gate] = x;",
      "byGate.last = x;",
      "counts.hits += 1;",
      "counts.hits++;",
      "delete byGate[gate];",
      "Object.assign(counts, next);",
      "recent.length = 0;",
    ];
    for (const line of writes) expect(writesTo(line, line.match(/recent|byGate|counts/u)![0]), line).toBe(true);
    const reads = [
      "const x = KINDS.includes(k);",
      "if (TABLE[k] === 1) f(TABLE.a);",
      "other.KINDS = 1;",
      "const y = { KINDS: 1 };",
      "f(TABLE, KINDS);",
    ];
    for (const line of reads) expect(writesTo(`${text}\n${line}`, "KINDS") || writesTo(`${text}\n${line}`, "TABLE"), line).toBe(false);
  });
});
