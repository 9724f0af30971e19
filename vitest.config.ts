import { readFileSync, statfsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { vendorAssets } from "./scripts/vendor-assets.mjs";

/**
 * The order in which files are handed to the workers (three on two cores). The browser files (the longest) start at
 * once beside the workerd files (their runner takes seconds to start, better spent while the browser files run than
 * at the end); then the Node projects, one after the other ("packages", whose CLI test against a live worker is the
 * longest Node file, then "unit"), each project's files longest first, so the long ones start early and the many short
 * ones fill the workers until the end. Projects are kept together because a worker that moves to a file of another
 * project is a new process that evaluates src/ again: interleaving "unit" and "packages" by duration alone cost about
 * 20 CPU seconds of process starts (docs/benchmarks.md, "Test suite wall time"). The workerd files stay together for
 * the same reason.
 */
class LongPolesFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const phase = (spec: TestSpecification) => ({ browser: 0, workers: 1, packages: 2, unit: 3 })[spec.project.name] ?? 4;
    // the duration of the file's last run; files never run come first
    const duration = (spec: TestSpecification) => this.ctx.cache.getTestSpecificationResult(spec)?.duration ?? Number.MAX_VALUE;
    return (await super.sort(files)).sort((a, b) => phase(a) - phase(b) || (phase(a) >= 2 ? duration(b) - duration(a) : 0));
  }
}

/** statfs's f_type of a memory file system (Linux's tmpfs). */
const TMPFS_MAGIC = 0x01021994;
/**
 * The least room /dev/shm must have to hold the run's temporary files: a whole run keeps about 55 MB there at its
 * peak (Chromium's shared memory included), so 1 GiB leaves room to spare, and Docker's default /dev/shm of 64 MB is
 * passed over.
 */
const MIN_MEMORY_TMP_BYTES = 2 ** 30;

/**
 * Where the test processes keep their temporary files: /dev/shm where it is a memory file system with room (Linux),
 * unless TMPDIR is set. Miniflare keeps every D1 database, KV namespace and Durable Object of each workerd runtime in
 * SQLite files under os.tmpdir(), one per object (hundreds in a run); on a disk their writes and syncs cost about a
 * quarter of the workerd files' time (docs/benchmarks.md, "Test suite wall time"). Nothing else changes: the same
 * files, the same SQLite, in memory.
 */
function memoryTmpDir(): string | undefined {
  if (process.env.TMPDIR) return undefined;
  try {
    const fs = statfsSync("/dev/shm");
    return fs.type === TMPFS_MAGIC && fs.bavail * fs.bsize >= MIN_MEMORY_TMP_BYTES ? "/dev/shm" : undefined;
  } catch {
    return undefined; // no /dev/shm (macOS, Windows)
  }
}

// Four projects over one test tree that mirrors src/: "unit" runs the pure core and services in plain Node;
// "packages" runs the client packages' tests in Node; "browser" drives the dashboard in Chromium; "workers" runs every
// `*.workerd.test.ts` (routes, jobs, Durable Objects, the client inside the runtime) inside workerd with real local
// D1/KV/DO.
//
// Each test file still starts from a clean slate, but without a new process per file (docs/benchmarks.md, "Test suite
// wall time", has the figures): the node and workerd projects run with `isolate: false`, so a worker (a Node process,
// or one workerd process) runs file after file, evaluating src/ once, and a setup file restores what isolation gave
// before each file: an empty isolate memory (src/worker/isolate.ts, the one module that keeps state;
// test/worker/isolate-state.test.ts holds it so) and, in workerd, empty storage (test/support/setup-workerd-file.ts).
export default defineConfig(async () => {
  // The Worker's static assets ([assets] in wrangler.toml) must exist before workerd starts.
  vendorAssets();
  // Read by os.tmpdir() in this process (the workerd runtimes' Miniflare) and inherited by every test process (the
  // browser and CLI tests' local Workers, scratch folders).
  const tmp = memoryTmpDir();
  if (tmp !== undefined) process.env.TMPDIR = tmp;
  // Read when the first workerd runner starts, not here: readD1Migrations loads wrangler (about a second), which would
  // delay every project's first test.
  let migrations: ReturnType<typeof readD1Migrations> | undefined;
  const readMigrations = () => {
    migrations ??= readD1Migrations("./migrations");
    return migrations;
  };
  const dependencies = Object.keys((JSON.parse(readFileSync("./package.json", "utf8")) as { dependencies: Record<string, string> }).dependencies);
  // A test's time is never its verdict (performance is measured in bench/, docs/benchmarks.md): vitest's default of
  // 5 s per test failed passing simulation and upload tests when other work loaded the two cores (load average 8 to
  // 14, docs/benchmarks.md, "Test suite wall time"). A test that hangs still fails, after a minute.
  const patience = { testTimeout: 60_000, hookTimeout: 60_000 };
  return {
    test: {
      // vitest's default is one worker fewer than the cores: a single worker on these 2-core machines. Three, on two
      // cores: a workerd file spends about a quarter of its time waiting between workerd's isolates (D1, KV and the
      // Durable Objects are services of their own in Miniflare), and the lane that starts the workerd runtime waits
      // seconds for it; a third lane fills that time (0.90 of the wall time with two, medians of three alternating
      // runs: docs/benchmarks.md, "Test suite wall time"). More cores, one fewer worker than cores, as vitest would.
      maxWorkers: Math.max(3, availableParallelism() - 1),
      sequence: { sequencer: LongPolesFirstSequencer },
      projects: [
        {
          test: {
            name: "unit",
            environment: "node",
            ...patience,
            isolate: false,
            setupFiles: ["./test/support/setup-node-file.ts"],
            include: ["test/**/*.test.ts"],
            exclude: ["test/**/*.workerd.test.ts", "test/**/*.browser.test.ts"],
          },
        },
        {
          // The dashboard in Debian's Chromium (playwright-core) against a Worker started in beforeAll.
          test: {
            name: "browser",
            environment: "node",
            // the local worker's bundle is built once per change of src/ and shared with the CLI tests (bench/lib/worker.mjs)
            env: { SCOREGATE_REUSE_WORKER_BUILD: "1" },
            include: ["test/**/*.browser.test.ts"],
            testTimeout: 120_000,
            hookTimeout: 240_000,
          },
        },
        {
          // Client packages (packages/*): plain Node, fake fetch or a local server, no network. @scoregate/client's
          // exports point at its built dist/: the adapters' tests import its source through the tsconfig paths.
          resolve: { tsconfigPaths: true },
          test: {
            name: "packages",
            environment: "node",
            ...patience,
            env: { SCOREGATE_REUSE_WORKER_BUILD: "1" },
            isolate: false,
            setupFiles: ["./test/support/setup-node-file.ts"],
            include: ["packages/*/test/**/*.test.ts"],
          },
        },
        {
          plugins: [
            cloudflareTest(async ({ inject }) => ({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                // Tests never reach out: only the local webhook receiver (test/support/webhook-receiver.ts) answers;
                // any other outbound request fails loudly.
                outboundService: async (request: Request) => {
                  const origin = inject<string>("receiverOrigin");
                  if (new URL(request.url).origin === origin) {
                    const body = request.method === "GET" || request.method === "HEAD" ? null : await request.arrayBuffer();
                    // redirect "manual": pass a receiver's 3xx back to the Worker as it is, never follow it here
                    const res = await fetch(request.url, { method: request.method, headers: request.headers, body, redirect: "manual" });
                    const nullBody = res.status === 204 || res.status === 304;
                    return new Response(nullBody ? null : await res.arrayBuffer(), { status: res.status, headers: res.headers });
                  }
                  console.error(`unexpected outbound request from the Worker: ${request.method} ${request.url}`);
                  return new Response(`unexpected outbound request to ${request.url}`, { status: 599 });
                },
                // A database no migration ever touches: the readiness tests point the Worker at it.
                d1Databases: { UNMIGRATED_DB: "scoregate-unmigrated" },
                bindings: {
                  ENVIRONMENT: "test",
                  TEST_MIGRATIONS: await readMigrations(),
                  READ_TOKENS: "svc-a:test-read",
                  CALIBRATE_TOKENS: "rebuild-bot:test-calibrate",
                  ADMIN_TOKENS: "alice:test-admin,bob:test-admin-2",
                },
              },
            })),
          ],
          test: {
            name: "workers",
            isolate: false,
            ...patience,
            globalSetup: ["./test/support/webhook-receiver.ts"],
            include: ["test/**/*.workerd.test.ts"],
            setupFiles: ["./test/support/setup-workerd-file.ts"],
            deps: {
              // Pre-bundled with esbuild once, so a worker loads a handful of modules instead of about 500 tiny ones
              // (zod and @stdlib are many small files each fetched from vite). hono stays unbundled: vitest keeps
              // its JSX runtime out of the pre-bundle, and a bundled hono beside an unbundled runtime would load two
              // copies of hono/jsx.
              optimizer: {
                ssr: { enabled: true, include: dependencies.filter((d) => d === "zod" || d.startsWith("@stdlib/")) },
              },
            },
          },
        },
      ],
    },
  };
});
