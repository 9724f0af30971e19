import { DRIFT_WINDOW_MS } from "../platform/limits";
export const probe = DRIFT_WINDOW_MS;
