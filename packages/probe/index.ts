import { appDeps } from "../../src/platform/deps-from-env";
export const p = appDeps;
