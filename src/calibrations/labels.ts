/**
 * Relevance labels to 0/1, one rule for every labelled input: calibration uploads (upload.ts) and judged production
 * queries (src/monitoring/judgments.ts) accept and refuse the same labels, with the same words.
 */
import { type ErrorDetail, invalid } from "../platform/errors";
import { countText } from "../platform/format";
import { MAX_ERROR_DETAILS, problemsSentence } from "../platform/http/validate";

/**
 * Writes one query's labels into `out` from `offset` as 1 (relevant) or 0: with `relevantAt` (graded labels) a
 * candidate is relevant iff its label >= relevantAt; without it, labels must be 0 or 1. Labels missing or of another
 * length than the query's `candidates` are one problem; each bad label is one more. Problems are described in
 * `details` (at most MAX_ERROR_DETAILS in all, at `path` and `path[j]`) and counted in the result: 0 means all good.
 */
export function relevanceOf(
  labels: ArrayLike<number> | null | undefined,
  candidates: number,
  relevantAt: number | undefined,
  path: string,
  out: Uint8Array,
  offset: number,
  details: ErrorDetail[],
): number {
  if (labels === null || labels === undefined || labels.length !== candidates) {
    const n = labels?.length ?? 0;
    if (details.length < MAX_ERROR_DETAILS)
      details.push({ path, message: `has ${n} ${n === 1 ? "label" : "labels"} for ${candidates} ${candidates === 1 ? "candidate" : "candidates"}` });
    return 1;
  }
  let bad = 0;
  for (let j = 0; j < candidates; j++) {
    const l = labels[j]!;
    const ok = typeof l === "number" && Number.isFinite(l) && (relevantAt !== undefined || l === 0 || l === 1);
    if (!ok) {
      bad++;
      if (details.length < MAX_ERROR_DETAILS)
        details.push({
          path: `${path}[${j}]`,
          message: relevantAt === undefined ? "must be 0 or 1 (or give relevant_at for graded labels)" : "must be a finite number",
        });
      continue;
    }
    out[offset + j] = relevantAt === undefined ? l : l >= relevantAt ? 1 : 0;
  }
  return bad;
}

/**
 * Relevance labels to a flat 0/1 array parallel to the flattened queries (`offsets`), from `count` label arrays
 * (`labelsAt(i)`, null where a line had none). Labels are 0/1 unless `relevantAt` is given (graded labels: relevant iff
 * label >= relevantAt). 422 for labels without candidates or of the wrong shape.
 */
export function labelsOf(
  offsets: Uint32Array,
  count: number,
  labelsAt: (i: number) => ArrayLike<number> | null,
  relevantAt: number | undefined,
  where: (i: number) => string,
): Uint8Array {
  const queries = offsets.length - 1;
  if (count !== queries) {
    throw invalid(`relevance has ${countText(count)} entries for ${countText(queries)} queries: give one label array per query`, [
      { path: "relevance", message: "must have one entry per query" },
    ]);
  }
  const out = new Uint8Array(offsets[queries]!);
  const details: ErrorDetail[] = [];
  let bad = 0;
  for (let i = 0; i < queries; i++) {
    bad += relevanceOf(labelsAt(i), offsets[i + 1]! - offsets[i]!, relevantAt, where(i), out, offsets[i]!, details);
  }
  if (bad > 0) throw invalid(`${countText(bad)} relevance label(s) do not match their candidates: ${problemsSentence(details, bad)}`, details);
  return out;
}
