import { defineConfig } from "tsdown";
import { packageBuild } from "../tsdown.shared.ts";

// The `scoregate` bin: one ESM file with a shebang (src/cli.ts), the contract bundled in, zod a dependency. No
// declarations: the package is a command, not a library.
export default defineConfig(packageBuild({ entry: ["src/cli.ts"], platform: "node", dts: false }));
