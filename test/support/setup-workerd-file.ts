/**
 * Runs in workerd before each test file of the "workers" project. That project reuses one workerd process for many
 * files (`isolate: false` in vitest.config.ts: starting workerd and loading the Worker per file cost seconds each), so
 * this restores what a fresh process gave each file: no Durable Object, D1 or KV data left by an earlier file
 * (cloudflare:test `reset()` deletes every object's storage, and D1 and KV live in Durable Objects in Miniflare, and
 * drops the live instances), fresh modules (no per-isolate cache of src/ carries over), then the migrations.
 * Storage is therefore isolated per test file, not per test: tests use unique keys within a file.
 */
import { applyD1Migrations, reset } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";

await reset();
vi.resetModules();
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
