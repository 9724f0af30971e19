import { DurableObject } from "cloudflare:workers";
import type { Env } from "../app-env";

/** Per-gate aggregation of production observations (issue 3). */
export class GateMonitor extends DurableObject<Env> {}
