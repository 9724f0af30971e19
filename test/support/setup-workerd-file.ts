/**
 * Runs in workerd before each test file of the "workers" project. That project reuses one workerd process for many
 * files (`isolate: false` in vitest.config.ts: starting workerd and loading the Worker per file cost seconds each), so
 * this restores what a fresh process gave each file: no Durable Object, D1 or KV data left by an earlier file
 * (cloudflare:test `reset()` deletes every object's storage, and D1 and KV live in Durable Objects in Miniflare, and
 * drops the live instances; called again until both D1 databases and KV are empty, see MAX_RESETS), an empty isolate memory (no threshold, token or alert memory carries over: src/ keeps
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

/**
 * How many times reset() is called before the file gives up. One call does not always clear a D1 database: the whole
 * database of the previous file was still there after reset() at about 1 file start in 50 on an idle machine, and at
 * most starts of a file that followed another in its process while the other process ran a long file under load (a
 * listing test then saw 16 gates and 8 alerts it never made). A second call cleared it every time it was measured.
 */
const MAX_RESETS = 5;

/**
 * What a fresh process starts with: no table in either D1 database and no KV key. GateMonitor objects are not looked
 * at: listDurableObjectIds() still lists objects whose storage reset() deleted, and opening one to look would run its
 * migrations.
 */
async function storageIsEmpty(): Promise<boolean> {
  const tables = (db: D1Database) =>
    db
      .prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")
      .first<{ n: number }>();
  const [main, unmigrated, keys] = await Promise.all([tables(env.DB), tables(env.UNMIGRATED_DB), env.THRESHOLDS.list({ limit: 1 })]);
  return main?.n === 0 && unmigrated?.n === 0 && keys.keys.length === 0;
}

for (let attempt = 1; ; attempt++) {
  await reset();
  if (await storageIsEmpty()) break;
  if (attempt === MAX_RESETS) throw new Error(`storage of an earlier test file survived ${MAX_RESETS} calls of reset()`);
}
Object.assign(isolate, newIsolateMemory());
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
