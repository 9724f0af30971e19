/**
 * Pushed changes of one gate's calibration to its subscribers, measured on one local workerd (the Worker built and
 * run in Miniflare 5 directly, bench/lib/worker.mjs). One entry, four modes; each mode's module under bench/lib/push/
 * says what it measures, how and how long it takes:
 *
 *   npm run bench:push                                   propagation to `--subscribers` clients: pushed over SSE,
 *                                                        over a WebSocket on the gate's hub, and polled (propagation.mjs)
 *   npm run bench:push -- --ingest --subscribers 1000    what held subscriptions cost POST /v1/observations (ingest.mjs)
 *   npm run bench:push -- --sdk --subscribers 1000       when SDK clients serve the new threshold (sdk.mjs)
 *   npm run bench:push -- --restart --subscribers 1000   a reconnect storm caused by a restart of the Worker (restart.mjs)
 *
 * Options (bench/lib/push/options.mjs): --subscribers, --activations, --gap, --idle, --poll, --storm (propagation; the
 * activations and storm counts even), --rounds, --seconds, --connections, --every (ingest), --out (the report, by
 * default bench/results/push-{propagation,ingest,sdk,restart}.md).
 */
import { ingestMain } from "./lib/push/ingest.mjs";
import { opts } from "./lib/push/options.mjs";
import { propagationMain } from "./lib/push/propagation.mjs";
import { restartMain } from "./lib/push/restart.mjs";
import { sdkMain } from "./lib/push/sdk.mjs";

await (opts.ingest ? ingestMain() : opts.restart ? restartMain() : opts.sdk ? sdkMain() : propagationMain());
