// The core has no Node-only API: it bundles for a neutral platform (no Node built-ins, no `process`/`Buffer`), and
// brings no zod (only type imports from the contract, plus its import-free limits module).
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const entry = fileURLToPath(new URL("../src/index.ts", import.meta.url));

describe("the core bundle", () => {
  it("builds for platform neutral and browser with no Node built-ins, globals or zod", async () => {
    for (const platform of ["neutral", "browser"] as const) {
      const out = await build({
        entryPoints: [entry],
        bundle: true,
        platform,
        format: "esm",
        minify: true,
        write: false,
        logLevel: "silent",
        metafile: true,
      });
      const code = out.outputFiles[0]!.text;
      expect(Object.keys(out.metafile.inputs).some((p) => p.includes("node_modules/zod"))).toBe(false);
      expect(Object.keys(out.metafile.inputs).filter((p) => p.includes("src/contract/"))).toEqual(["src/contract/limits.ts"]);
      expect(code).not.toMatch(/\bprocess\.|\bBuffer\b|require\(|node:/u);
    }
  });
});
