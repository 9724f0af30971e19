/**
 * Runs before each test file of the Node projects ("unit", "packages"). They reuse one Node process for many files
 * (`isolate: false` in vitest.config.ts: about half a second saved per file), so this gives each file what a fresh
 * process gave it: an empty isolate memory (src/worker/isolate.ts, the one module of src/ that keeps state between
 * calls; test/worker/isolate-state.test.ts holds it so). Modules are evaluated once per process, not once per file:
 * re-evaluating them for each file (`vi.resetModules()`) cost about a sixth of these projects' time and gave nothing
 * more, as no other module of src/, packages/*\/src or test/support keeps state a test could see (the few module
 * values there are a pure function's memo, a lazily made encoder and a counter that only ever grows).
 */
import { isolate, newIsolateMemory } from "../../src/worker/isolate";

Object.assign(isolate, newIsolateMemory());
