// Test-only bindings configured in vitest.config.ts (miniflare.bindings).
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    UNMIGRATED_DB: D1Database;
  }
}
