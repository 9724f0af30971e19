/**
 * The build cache the tests that run built artifacts share (bench/lib/build-cache.mjs): a build is reused only while
 * its inputs and its outputs are the ones recorded, so a test never runs a stale bin or bundle.
 */
import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildOnce, CACHE } from "../../bench/lib/build-cache.mjs";
import { ROOT } from "../../bench/lib/worker.mjs";

const DIR = "node_modules/.cache/scoregate-build-cache-test";
const NAME = `build-cache-test-${process.pid}`;
afterAll(() => {
  rmSync(join(ROOT, DIR), { recursive: true, force: true });
  rmSync(join(CACHE, `scoregate-${NAME}`), { recursive: true, force: true });
});

describe("buildOnce", () => {
  it("builds once per state of the inputs, and again when an input or an output changed", () => {
    mkdirSync(join(ROOT, DIR, "src"), { recursive: true });
    writeFileSync(join(ROOT, DIR, "src", "a.ts"), "export const a = 1;\n");
    let builds = 0;
    const build = () => {
      builds += 1;
      writeFileSync(join(ROOT, DIR, "out.js"), `// build ${builds}\n`);
      // a distinct modification time for each build, whatever the file system's resolution
      utimesSync(join(ROOT, DIR, "out.js"), builds, builds);
    };
    const run = () => buildOnce({ name: NAME, inputs: [`${DIR}/src`], outputs: [`${DIR}/out.js`], build });
    expect(run()).toBe(true);
    expect(run()).toBe(false);
    expect(builds).toBe(1);
    // a changed source
    writeFileSync(join(ROOT, DIR, "src", "a.ts"), "export const a = 2;\n");
    expect(run()).toBe(true);
    // a new source file
    writeFileSync(join(ROOT, DIR, "src", "b.ts"), "export const b = 1;\n");
    expect(run()).toBe(true);
    expect(run()).toBe(false);
    // the output rewritten by another build (of other sources) in between
    utimesSync(join(ROOT, DIR, "out.js"), 1000, 1000);
    expect(run()).toBe(true);
    // the output deleted
    rmSync(join(ROOT, DIR, "out.js"));
    expect(run()).toBe(true);
    expect(builds).toBe(5);
  });
});
