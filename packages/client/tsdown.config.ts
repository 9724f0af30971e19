import { defineConfig } from "tsdown";
import { packageBuild } from "../tsdown.shared.ts";

// The core runs in Node, browsers and Workers (neutral platform: no Node built-ins); `./node` adds snapshot files,
// `./stream` pushed changes (a separate entry: the core keeps its size budget).
export default defineConfig(packageBuild({ entry: ["src/index.ts", "src/node.ts", "src/stream.ts"], platform: "neutral", target: "es2022" }));
