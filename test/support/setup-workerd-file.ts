/**
 * Runs in workerd before each test file of the "workers" project. That project reuses one workerd process for many
 * files (`isolate: false` in vitest.config.ts: starting workerd and loading the Worker per file cost seconds each), so
 * this restores what a fresh process gave each file: no Durable Object, D1 or KV data left by an earlier file
 * (cloudflare:test `reset()` deletes every object's storage, and D1 and KV live in Durable Objects in Miniflare, and
 * drops the live instances; called again until both D1 databases and KV are empty, see MAX_RESETS), an empty isolate memory (no threshold, token or alert memory carries over: src/ keeps
 * all of it in src/worker/isolate.ts, test/worker/isolate-state.test.ts holds it there), then the migrations (in one batch).
 * Storage is therefore isolated per test file, not per test: tests use unique keys within a file.
 *
 * The modules themselves are evaluated once per process, not once per file: re-evaluating src/ for each file (what
 * `vi.resetModules()` did here) fetched every module again from vitest's server and cost about a third of this
 * project's CPU time (docs/benchmarks.md, "Test suite wall time"), and gave nothing more, as no other module of src/
 * holds state.
 */
import { type D1Migration, listDurableObjectIds, reset, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { isolate, newIsolateMemory } from "../../src/worker/isolate";
import { aborted } from "./abort-objects";

/**
 * How many times reset() is called before the file gives up. One call does not always clear a D1 database: the whole
 * database of the previous file was still there after reset() at about 1 file start in 50 on an idle machine, and at
 * most starts of a file that followed another in its process while the other process ran a long file under load (a
 * listing test then saw 16 gates and 8 alerts it never made). A second call cleared it every time it was measured.
 */
const MAX_RESETS = 5;

/**
 * What a fresh process starts with: no table in either D1 database and no KV key. GateMonitor objects are not looked
 * at: listDurableObjectIds() still lists every object whose storage reset() deleted (100 to 300 by the end of a run),
 * and opening each of them at every file start doubled this project's time. Measured with such a probe: after the
 * reopening below, every file start of two whole runs found no object with rows; under four busy loops, 2 of 6 file
 * starts found objects of the file before still holding rows (D1 already empty). Most tests name their gates from a
 * counter that runs on through the process (uniqueGate in ./worker.ts), so a later file does not open such an object;
 * three files share one fixed gate (index "docs", embedding "e5", reranker "bge").
 */
async function storageIsEmpty(): Promise<boolean> {
  const tables = (db: D1Database) =>
    db
      .prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")
      .first<{ n: number }>();
  const [main, unmigrated, keys] = await Promise.all([tables(env.DB), tables(env.UNMIGRATED_DB), env.THRESHOLDS.list({ limit: 1 })]);
  return main?.n === 0 && unmigrated?.n === 0 && keys.keys.length === 0;
}

/**
 * What `applyD1Migrations` of cloudflare:test writes into an empty database (every migration's statements, then its row
 * in d1_migrations), in one batch: that function makes a round trip per migration and two more to read what was
 * applied, 45 ms of each file start (3.7 s of this project's time), where one batch takes a fraction of it. The
 * database is empty here (storageIsEmpty above), so every migration applies.
 */
async function applyMigrations(db: D1Database, migrations: D1Migration[]): Promise<void> {
  const insert = db.prepare("INSERT INTO d1_migrations (name) VALUES (?)");
  await db.batch([
    db.prepare(
      "CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
    ),
    ...migrations.flatMap((m) => [...m.queries.map((q) => db.prepare(q)), insert.bind(m.name)]),
  ]);
}

// After a file that aborted every object (abort-objects.ts), each GateMonitor object is opened again, so that reset()
// deletes its storage: an aborted object that nothing opened keeps it.
if (aborted.pending) {
  for (const id of await listDurableObjectIds(env.GATE_MONITOR)) await runInDurableObject(env.GATE_MONITOR.get(id), () => undefined);
  aborted.pending = false;
}
for (let attempt = 1; ; attempt++) {
  await reset();
  if (await storageIsEmpty()) break;
  if (attempt === MAX_RESETS) throw new Error(`storage of an earlier test file survived ${MAX_RESETS} calls of reset()`);
}
Object.assign(isolate, newIsolateMemory());
await applyMigrations(env.DB, env.TEST_MIGRATIONS);
