import { defineConfig } from "tsdown";
import { packageBuild } from "../tsdown.shared.ts";

// @scoregate/client and the framework (a peer dependency) stay external.
export default defineConfig(packageBuild({ entry: ["src/index.ts"], platform: "node", target: "es2022" }));
