import { defineConfig } from "tsdown";
import { packageBuild } from "../tsdown.shared.ts";

// The core runs in Node, browsers and Workers (neutral platform: no Node built-ins); `./node` adds snapshot files.
export default defineConfig(packageBuild({ entry: ["src/index.ts", "src/node.ts"], platform: "neutral", target: "es2022" }));
