/**
 * @scoregate/client/shadow: shadow evaluation, for a service that mirrors queries to a new index version while its
 * shadow calibrations gather evidence (docs/clients.md, "Promotions, arms and shadows"). A separate entry so that a
 * service that never mirrors does not carry it (the core keeps its size budget, docs/benchmarks.md section 14); the
 * functions take the core's client (or the stream entry's, which extends it) and read its cache. What a gate serves
 * never depends on this entry: promotion arms are the core's.
 */
import type { ServedGate, ServedShadow } from "../../../src/contract/wire-types";
import { decideQuery } from "../../../src/stats/guard-rule";
import { shadowsTaking } from "./assignment";
import { isGateKey } from "./cache-entry";
import { countsOf, type ScoregateClient, scoresOf } from "./client";
import type { GateKey, ShadowOptions } from "./types";

/**
 * The gate's shadows whose sample takes `key` (the ones `shadow()` would report this key for), read at once from the
 * client's cached threshold answer (copies of the served shadows): ask before querying the new index version, and
 * mirror only the queries it names. Never waits and never throws: with nothing usable cached it answers none and
 * starts the request that fills the cache (handed to `waitUntil`), as a stale value starts its revalidation; a gate key
 * without its model names takes no shadow.
 */
export function shadowsFor(
  client: ScoregateClient,
  gate: GateKey,
  key: string,
  options: Pick<ShadowOptions<unknown>, "indexVersion" | "waitUntil"> = {},
): ServedShadow[] {
  if (!isGateKey(gate)) return [];
  return shadowsTaking(client._served(gate, options?.waitUntil)?.shadows, key, options?.indexVersion).map((s) => ({ ...s }));
}

/**
 * Shadow evaluation of one mirrored query: for each shadow calibration of the gate whose sample takes this key (its
 * bucket, salted with the shadow's calibration id, is below the shadow's `sample_rate`), applies the shadow's gate to
 * the mirrored candidates and reports the counts with `role: "shadow"` through the client's batches. Changes nothing
 * that is served; never throws (without options, or with a gate key without its model names, it takes no shadow).
 * Waits for a first answer as `getThreshold` does. Returns the calibration ids the query was reported for.
 */
export async function shadow<T>(client: ScoregateClient, candidates: readonly T[], options: ShadowOptions<T>): Promise<string[]> {
  // A JavaScript caller's candidates that are not an array (null from a failed reranker), or no gate (options
  // undefined or null, as gate() takes them, or a gate key without its model names): nothing to report.
  if (!Array.isArray(candidates) || !isGateKey(options?.gate)) return [];
  const waitUntil = options.waitUntil === undefined ? {} : { waitUntil: options.waitUntil };
  await client.getThreshold(options.gate, { fallback: null, ...waitUntil });
  const values = scoresOf(candidates, options.score);
  const reported: string[] = [];
  for (const s of shadowsTaking(client._served(options.gate, options.waitUntil)?.shadows, options.key, options.indexVersion)) {
    const g = s.guards;
    const o = countsOf(
      s.calibration_id,
      candidates.length,
      decideQuery(values, policyOf(s), "keep"),
      g.min_keep > 0 || g.max_keep !== null || s.abstain_below !== null,
    );
    o.role = "shadow";
    client.report(o, waitUntil);
    reported.push(s.calibration_id);
  }
  return reported;
}

/** The gate a served calibration states, as the per-query rule takes it. */
const policyOf = (g: ServedGate) => ({
  threshold: g.threshold,
  minKeep: g.guards.min_keep,
  maxKeep: g.guards.max_keep,
  abstainBelow: g.abstain_below,
});

export type { ServedShadow, ShadowOptions } from "./types";
