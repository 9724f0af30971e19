/**
 * Import rules, checked by `npm run lint:imports` (part of `npm run check` and CI). docs/architecture.md explains the
 * layers they protect.
 */
/**
 * The feature folders of src/, bottom floor first (docs/architecture.md draws them): the ground (stats, contract,
 * platform) lies below them all, src/worker/ and src/index.ts above.
 */
const FEATURE_FLOORS = [
  ["calibrations", "webhooks", "reference"],
  ["serving", "streaming"],
  ["alerts"],
  ["monitoring"],
  ["promotions"],
  ["dashboard"],
];

// Every folder of src/ has its place: a new feature folder must be put on a floor before the rules can check it.
const placed = new Set([...FEATURE_FLOORS.flat(), "stats", "contract", "platform", "worker"]);
const unplaced = require("node:fs")
  .readdirSync(`${__dirname}/src`, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !placed.has(d.name))
  .map((d) => `src/${d.name}`);
if (unplaced.length > 0) throw new Error(`.dependency-cruiser.cjs: put ${unplaced.join(", ")} on a floor (FEATURE_FLOORS)`);

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
      name: "platform-imports-no-feature",
      severity: "error",
      comment:
        "src/platform is the ground every feature stands on (auth, http helpers, errors, ids, generic env types): it imports only itself and the contract, never a feature or the wiring.",
      from: { path: "^src/platform/" },
      to: { path: "^src/", pathNot: ["^src/platform/", "^src/contract/"] },
    },
    {
      name: "no-feature-imports-another-features-routes",
      severity: "error",
      comment:
        "A feature never imports another feature's routes (HTTP modules): what it needs of another feature comes through its slice of dependencies (deps.ts), and cross-feature effects are listeners wired in src/worker/.",
      from: { path: `^src/(${FEATURE_FLOORS.flat().join("|")})/` },
      to: { path: "^src/[^/]+/routes\\.tsx?$", pathNot: ["^src/$1/"] },
    },
    // The features' floors (docs/architecture.md, "Floors"), bottom up: a feature imports features on its floor or below.
    ...FEATURE_FLOORS.map((floor, i) => ({
      name: "features-import-only-downward",
      severity: "error",
      comment: `A feature imports only features on its floor or below (docs/architecture.md, "Floors"): ${floor.join(", ")} (floor ${i + 1}) import nothing of ${FEATURE_FLOORS.slice(i + 1).flat().join(", ") || "no floor"}.`,
      from: { path: `^src/(${floor.join("|")})/` },
      to: { path: `^src/(${FEATURE_FLOORS.slice(i + 1).flat().join("|") || "(?!)"})/` },
    })),
    {
      name: "only-worker-wires",
      severity: "error",
      comment:
        "src/worker/ is the top floor, the only place that builds services from bindings: only it and the entry (src/index.ts) import it. Tests may.",
      from: { path: "^src/", pathNot: ["^src/worker/", "^src/index\\.ts$"] },
      to: { path: "^src/worker/" },
    },
    {
      name: "packages-use-only-contract-and-stats",
      severity: "error",
      comment:
        "Client packages may use the contract and the pure core, never Worker runtime code. What they import from src/ is a build-time input: the build bundles it into the package's dist/ (docs/architecture.md, 'How the contract travels with the clients').",
      from: { path: "^packages/" },
      to: { path: "^src/", pathNot: ["^src/contract/", "^src/stats/"] },
    },
    {
      name: "client-packages-use-the-zod-free-contract",
      severity: "error",
      comment:
        "The SDK and the adapters run in browsers and Workers and publish types: from the contract they import only the modules without zod (limits, wire-types, api-version), so neither their bundle nor their .d.ts needs zod. The CLI, which depends on zod, and the tests may import the whole contract.",
      from: { path: "^packages/(client|openfeature|langchain|llamaindex)/src/" },
      to: { path: "^src/contract/", pathNot: ["^src/contract/(limits|wire-types|api-version)\\.ts$"] },
    },
    {
      name: "packages-reach-each-other-by-name",
      severity: "error",
      comment:
        "A package's source imports another package by its name (@scoregate/client, resolved to the dependency when installed), never by a relative path into its folder, which would not exist once published. Tests may borrow another package's test helpers.",
      from: { path: "^packages/([^/]+)/src/" },
      to: { path: "^packages/", pathNot: ["^packages/$1/"], dependencyTypesNot: ["aliased-tsconfig-paths"] },
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
    // packages/*/dist is what `npm run build` makes from the sources checked here
    exclude: { path: "(^|/)node_modules/|^dist/|^packages/[^/]+/dist/|\\.wrangler/" },
    tsPreCompilationDeps: true,
    // the root tsconfig for its `paths` (tsconfig.base.json): @scoregate/client resolves to packages/client/src, so
    // the rules apply to sources and hold without a build
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
    builtInModules: { add: ["cloudflare:workers", "cloudflare:test"] },
  },
};
