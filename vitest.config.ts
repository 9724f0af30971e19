import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Two projects, mirroring src/: "unit" runs the pure core and services in plain Node; "workers" runs routes, jobs and
// Durable Objects inside workerd with real local D1/KV/DO (storage is isolated per test file, not per test).
export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    test: {
      projects: [
        {
          test: {
            name: "unit",
            environment: "node",
            include: ["test/stats/**/*.test.ts", "test/services/**/*.test.ts", "test/storage/**/*.test.ts", "test/unit/**/*.test.ts"],
          },
        },
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  ENVIRONMENT: "test",
                  TEST_MIGRATIONS: migrations,
                  READ_TOKENS: "svc-a:test-read",
                  CALIBRATE_TOKENS: "rebuild-bot:test-calibrate",
                  ADMIN_TOKENS: "alice:test-admin,bob:test-admin-2",
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/routes/**/*.test.ts", "test/jobs/**/*.test.ts", "test/durable/**/*.test.ts", "test/workers/**/*.test.ts"],
            setupFiles: ["./test/workers/apply-migrations.ts"],
          },
        },
      ],
    },
  };
});
