/**
 * The build every package shares (`npm run build`; each package's tsdown.config.ts adds its entries and platform).
 *
 * tsdown (Rolldown, with rolldown-plugin-dts for the declarations) because it bundles what a package imports from
 * outside its folder, the contract modules in src/contract, into the package's own dist/ and emits one set of .d.ts
 * with those types inlined: nothing published reaches outside its package. Plain `tsc` would mirror the repository's
 * folders into dist/ and keep the relative paths out of the package. Pinned to 0.21: tsdown 0.22 and newer declare
 * Node 22 (CI installs with the machines' Node 20), and 0.23.5 and newer make `npm ci` refuse a lock written here.
 */
import type { UserConfig } from "tsdown";

export function packageBuild(config: UserConfig): UserConfig {
  return {
    format: "esm",
    outDir: "dist",
    // stable file names: dist/client.d.ts, not dist/client-BjAYd_7d.d.ts
    hash: false,
    // "type": "module" packages: .js is ESM
    fixedExtension: false,
    dts: true,
    deps: {
      // Dependencies and peer dependencies stay external (tsdown reads them from package.json). Anything else from
      // node_modules would be copied in: refuse it, so every npm import of a package is declared in its package.json.
      onlyBundle: [],
      neverBundle: [/^node:/u],
    },
    // an unresolved import is a broken package: fail the build instead of warning
    failOnWarn: true,
    checks: { pluginTimings: false },
    ...config,
  };
}
