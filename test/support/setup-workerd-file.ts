/**
 * Runs in workerd before each test file of the "workers" project. That project reuses one workerd process for many
 * files (`isolate: false` in vitest.config.ts: starting workerd and loading the Worker per file cost seconds each), so
 * this restores what a fresh process gave each file: no Durable Object, D1 or KV data left by an earlier file
 * (cloudflare:test `reset()` deletes every object's storage, and D1 and KV live in Durable Objects in Miniflare, and
 * drops the live instances), an empty isolate memory (no threshold, token or alert memory carries over: src/ keeps
 * all of it in src/worker/isolate.ts, test/worker/isolate-state.test.ts holds it there), then the migrations.
 * Storage is therefore isolated per test file, not per test: tests use unique keys within a file.
 *
 * The modules themselves are evaluated once per process, not once per file: re-evaluating src/ for each file (what
 * `vi.resetModules()` did here) fetched every module again from vitest's server and cost about a third of this
 * project's CPU time (docs/benchmarks.md, "Test suite wall time"), and gave nothing more, as no other module of src/
 * holds state.
 */
import { applyD1Migrations, reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { isolate, newIsolateMemory } from "../../src/worker/isolate";

await reset();
Object.assign(isolate, newIsolateMemory());
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
