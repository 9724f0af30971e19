import { defineConfig } from "tsdown";
import { packageBuild } from "../tsdown.shared.ts";

// The core runs in Node, browsers and Workers (neutral platform: no Node built-ins); `./snapshot` snapshots, `./node` snapshot files,
// `./stream` pushed changes, `./shadow` shadow evaluation and `./adapter` the step framework adapters share (separate entries: the core keeps its size budget). The
// entries share the core's modules: shared chunks get a `chunk-` prefix, so none can take an entry's name (a chunk named `index` would push the entry's
// declarations to `index2.d.ts`, away from the exports map).
export default defineConfig(
  packageBuild({
    entry: ["src/index.ts", "src/node.ts", "src/stream.ts", "src/shadow.ts", "src/adapter.ts", "src/snapshot.ts"],
    platform: "neutral",
    target: "es2022",
    outputOptions: { chunkFileNames: "chunk-[name].js" },
  }),
);
