/**
 * Import rules, checked by `npm run lint:imports` (part of `npm run check` and CI). docs/architecture.md explains the
 * layers they protect.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      severity: "error",
      comment: "No import cycles anywhere, type-only imports included.",
      from: {},
      to: { circular: true },
    },
    {
      name: "stats-is-pure",
      severity: "error",
      comment: "src/stats is the pure statistics core: it imports only itself and the stdlib numerics (no hono, no cloudflare:*, no storage, no contract).",
      from: { path: "^src/stats/" },
      to: { pathNot: ["^src/stats/", "^node_modules/@stdlib/"] },
    },
    {
      name: "contract-imports-only-zod",
      severity: "error",
      comment: "src/contract is shared by the Worker and every client: it imports only itself and zod.",
      from: { path: "^src/contract/" },
      to: { pathNot: ["^src/contract/", "^node_modules/zod/"] },
    },
    {
      name: "packages-use-only-contract-and-stats",
      severity: "error",
      comment: "Client packages may use the contract and the pure core, never Worker runtime code.",
      from: { path: "^packages/" },
      to: { path: "^src/", pathNot: ["^src/contract/", "^src/stats/"] },
    },
    {
      name: "worker-does-not-import-tests-or-tools",
      severity: "error",
      comment: "Worker code never imports tests, benchmarks, scripts or client packages.",
      from: { path: "^src/" },
      to: { path: "^(test|bench|scripts|packages|examples)/" },
    },
    {
      name: "no-cloudflare-runtime-outside-the-worker",
      severity: "error",
      comment: "cloudflare:* modules exist only inside workerd: packages and Node tests must not import them.",
      from: { path: "^(packages|bench)/" },
      to: { path: "^cloudflare:" },
    },
    {
      name: "no-unresolvable",
      severity: "error",
      from: {},
      to: { couldNotResolve: true, pathNot: ["^cloudflare:"] },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)node_modules/|^dist/|\\.wrangler/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "test/tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
    builtInModules: { add: ["cloudflare:workers", "cloudflare:test"] },
  },
};
