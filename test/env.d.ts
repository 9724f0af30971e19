// Test-only bindings configured in vitest.config.ts (miniflare.bindings).
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    UNMIGRATED_DB: D1Database;
  }
}

// A file imported as text (vite's `?raw`): the walk-through test reads README.md so.
declare module "*?raw" {
  const text: string;
  export default text;
}
