/**
 * The ETag of GET /v1/threshold: `"<calibration id>.<activation_seq>"`. The calibration id says which threshold it
 * is; the activation sequence number (D1's own, increasing across every activation) says how recent, so a client's
 * If-None-Match proves which activation it has already seen. A reader whose isolate cache or KV copy is older than
 * that proof re-reads D1 instead of serving the older value as current (threshold-reader.ts).
 */
import type { ProjectedThreshold } from "./projection";

/** Our ETag for a served projection (strong: the body is the projection's threshold, byte for byte). */
export const thresholdEtag = (p: ProjectedThreshold): string => `"${p.threshold.calibration_id}.${p.activation_seq}"`;

/** An entity tag of ours: an id of word characters, a dot, a positive sequence number (no leading zero). */
const OUR_ETAG = /^(?:W\/)?"\w+\.([1-9]\d*)"$/u;

/**
 * The highest activation_seq among our ETags in an If-None-Match header, or null when it names none (absent, "*",
 * ETags from an older format, or anything else). Sequence numbers beyond Number.MAX_SAFE_INTEGER cannot come from
 * D1 and are ignored.
 */
export function seenActivationSeq(ifNoneMatch: string | undefined): number | null {
  if (ifNoneMatch === undefined) return null;
  let seen: number | null = null;
  for (const tag of ifNoneMatch.split(",")) {
    const digits = OUR_ETAG.exec(tag.trim())?.[1];
    if (digits === undefined) continue;
    const seq = Number(digits);
    if (Number.isSafeInteger(seq) && (seen === null || seq > seen)) seen = seq;
  }
  return seen;
}
