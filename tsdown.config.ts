import { defineConfig } from "tsdown";

// `npm run build`: every package under packages/ with its own tsdown.config.ts (packages/tsdown.shared.ts says why
// tsdown), built in one process.
export default defineConfig({ workspace: { include: ["packages/*"] } });
