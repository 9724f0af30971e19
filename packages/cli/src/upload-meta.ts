/**
 * The upload's metadata from `scoregate calibrate`'s flags: the policy with its guards and abstention, labels'
 * relevant_at, and why an upload needs queries. Every flag is checked here, before a large file is read.
 */
import { CalibrationId, CalibrationMeta, CoverageNotion, MAX_CANDIDATES_PER_QUERY } from "../../../src/contract";
import { countFlag, gateFlags, ID_LISTING, num, oneOf, SCORE_SCALES, usage, type Values } from "./args";
import type { UploadMeta } from "./body";
import { count } from "./format";
import { didYouMean } from "./suggest";

/** The guard and abstention fields every policy kind takes (src/contract/common.ts). */
type GuardFields = Pick<Extract<UploadMeta["policy"], { kind: "drop_rate" }>, "min_keep" | "max_keep" | "abstention">;

/** A guard count: a whole number from `min` to the server's candidates per query. */
const guardCount = (v: string | undefined, flagName: string, min: number): number | undefined =>
  countFlag(v, flagName, min, MAX_CANDIDATES_PER_QUERY, `a whole number from ${min} to ${count(MAX_CANDIDATES_PER_QUERY)} (candidates per query)`);

/** The policy's guard and abstention fields from --min-keep, --max-keep, --abstain-rate and --abstain-carry. */
function guardsFrom(v: Values, carry: boolean): GuardFields {
  const out: GuardFields = {};
  const min = guardCount(v["min-keep"], "--min-keep", 0);
  const max = guardCount(v["max-keep"], "--max-keep", 1);
  if (min !== undefined && max !== undefined && max < min)
    throw usage(`--max-keep ${max} is below --min-keep ${min}: a query cannot keep at most ${count(max)} and at least ${count(min)} candidates`);
  if (min !== undefined) out.min_keep = min;
  if (max !== undefined) out.max_keep = max;
  const forms = (["abstain-rate", "abstain-carry", "abstain-alpha"] as const).filter((f) => v[f] !== undefined);
  if (forms.length > 1)
    throw usage(`give one of --abstain-rate R, --abstain-carry and --abstain-alpha A, not ${forms.map((f) => `--${f}`).join(" and ")}`);
  const rate = num(v["abstain-rate"], "--abstain-rate", (x) => x >= 0 && x < 1, "a share of queries in [0, 1), e.g. 0.05 for 5 %");
  if (rate !== undefined) out.abstention = { rate };
  const alpha = num(v["abstain-alpha"], "--abstain-alpha", (x) => x > 0 && x < 1, "a false-abstention level in (0, 1), e.g. 0.1");
  if (alpha !== undefined) {
    if (v["label-column"] === undefined && v["answerable-column"] === undefined)
      throw usage(
        "--abstain-alpha needs to know which queries are answerable: name the column (or JSONL field) of each candidate's relevance label with --label-column C (a query is answerable iff it has a relevant candidate), or of each query's answerable flag with --answerable-column C",
        "without either, --abstain-rate R sets the share of queries that abstain",
      );
    out.abstention = { alpha };
  }
  if (v["abstain-carry"] === true) {
    if (!carry)
      throw usage(
        `--abstain-carry goes with --carry (it carries the reference's abstention rate): with ${v.recall !== undefined ? "--recall" : "--target"}, give the rate with --abstain-rate R${v["label-column"] !== undefined ? " or the false-abstention level with --abstain-alpha A" : ""}`,
      );
    out.abstention = "carry";
  }
  return out;
}

/** True when the policy has a guard or abstention: they are judged per query, so the upload needs queries. */
const perQueryPolicy = (p: UploadMeta["policy"]): boolean =>
  p.min_keep !== undefined || (p.max_keep !== undefined && p.max_keep !== null) || p.abstention !== undefined;

/** The upload needs queries: for its guards or abstention, or for relevance labels (the server takes them per query). */
export const needsQueries = (v: Values, p: UploadMeta["policy"]): boolean => perQueryPolicy(p) || v["label-column"] !== undefined;

/** Why guards, abstention and labels need queries, for the refusals of flat scores. */
export const PER_QUERY_WHY =
  "guards keep and drop by rank within a query, abstention judges a query by its top score, and labels are uploaded per query";

/** The guard, abstention and label flags given, for those refusals: "--min-keep and --abstain-rate". */
export function perQueryFlags(v: Values): string {
  const given = (["min-keep", "max-keep", "abstain-rate", "abstain-carry", "abstain-alpha", "label-column"] as const)
    .filter((f) => v[f] !== undefined)
    .map((f) => `--${f}`);
  return given.length <= 1 ? (given[0] ?? "") : `${given.slice(0, -1).join(", ")} and ${given.at(-1)}`;
}

/** The coverage notions of a recall gate, from the contract (src/contract/common.ts). */
export const COVERAGE_NOTIONS = CoverageNotion.options;

/**
 * A recall policy from --recall R [--coverage C]: the highest threshold that keeps relevant candidates with
 * probability at least R, fitted on the relevance labels (so it needs --label-column); --coverage omitted leaves the
 * server's default (any_relevant) to the server.
 */
function recallPolicy(v: Values): UploadMeta["policy"] {
  const given = (["target", "carry"] as const).filter((f) => v[f] !== undefined);
  if (given.length > 0)
    throw usage(
      `give one policy: --recall R (a recall guarantee), --target D or --carry [THRESHOLD], not --recall and --${given[0]}`,
      "--recall fits the threshold from the relevance labels; a drop rate follows from it and is reported",
    );
  if (v.reference !== undefined) throw usage("--reference goes with --carry, not with --recall");
  const target = num(
    v.recall,
    "--recall",
    (x) => x > 0 && x < 1,
    "a coverage target in (0, 1), e.g. 0.9 to keep relevant candidates for 90 % of queries",
  )!;
  if (v["label-column"] === undefined)
    throw usage(
      "--recall needs relevance labels: name the column (or JSONL field) that holds each candidate's label with --label-column C",
      "the recall gate's threshold is fitted on the scores of the relevant candidates; without labels, --target D sets a drop rate",
    );
  const coverage = oneOf(v.coverage, "coverage", COVERAGE_NOTIONS);
  return { kind: "recall", target, ...(coverage === undefined ? {} : { coverage }), ...guardsFrom(v, false) };
}

function policyFrom(v: Values): UploadMeta["policy"] {
  if (v.coverage !== undefined && v.recall === undefined)
    throw usage("--coverage goes with --recall R: it says what a recall gate guarantees (any_relevant, all_relevant or candidates)");
  if (v.recall !== undefined) return recallPolicy(v);
  if (v.target !== undefined && v.carry !== undefined) throw usage("give either --target D or --carry [THRESHOLD], not both");
  if (v.target !== undefined) {
    if (v.reference !== undefined) throw usage("--reference goes with --carry, not with --target");
    return {
      kind: "drop_rate",
      target: num(v.target, "--target", (x) => x >= 0 && x < 1, "a drop rate in [0, 1), e.g. 0.2 to drop the bottom 20 %")!,
      ...guardsFrom(v, false),
    };
  }
  if (v.carry !== undefined) {
    const ref = v.reference ?? "active";
    if (ref.trim() === "")
      throw usage(`the --reference id is empty: is the shell variable set? \`${ID_LISTING}\` lists the ids (or --reference active)`);
    if (ref !== "active" && !CalibrationId.safeParse(ref).success)
      throw usage(
        ref.startsWith("cal_")
          ? `--reference ${JSON.stringify(ref)} is not a well-formed calibration id (cal_ and 10 to 40 lowercase letters or digits): \`${ID_LISTING}\` lists the ids`
          : `--reference ${JSON.stringify(ref)} is neither "active" nor a calibration id (cal_...)${didYouMean(ref, ["active"])}`,
      );
    const reference = ref === "active" ? ("active" as const) : { calibration_id: ref };
    const guards = guardsFrom(v, true);
    if (v.carry === "") return { kind: "carry", reference, ...guards };
    return { kind: "carry", threshold: num(v.carry, "--carry", () => true, "a number (the old absolute threshold)")!, reference, ...guards };
  }
  throw usage(
    "choose a policy: --target D (drop the bottom D, e.g. 0.2), --carry [THRESHOLD] (keep the drop rate of an old threshold) or --recall R with --label-column C (keep relevant candidates for the share R of queries)",
  );
}

/** The flag that sets a field of the upload's metadata, for the contract's complaints; the field's path otherwise. */
const FIELD_FLAGS: Readonly<Record<string, string>> = {
  index_version: "--index-version",
  "policy.target": "--target",
  "policy.coverage": "--coverage",
  "policy.threshold": "--carry",
  "policy.min_keep": "--min-keep",
  "policy.max_keep": "--max-keep",
  "policy.abstention": "--abstain-rate",
  relevant_at: "--relevant-at",
};
const flagOf = (path: string, policy: UploadMeta["policy"]): string =>
  path === "policy.target" && policy.kind === "recall" ? "--recall" : (FIELD_FLAGS[path] ?? path);

/** The upload's metadata from the flags, checked against the contract before a large file is read. */
export function metaFrom(v: Values): UploadMeta {
  gateFlags(v, true);
  if (v["index-version"] === undefined) throw usage("missing --index-version: the index version these scores come from (e.g. the rebuild's id)");
  const meta: UploadMeta = { embedding: v.embedding!, reranker: v.reranker!, index_version: v["index-version"], policy: policyFrom(v) };
  if (v.index !== undefined) meta.index = v.index;
  if (v["dry-run"]) meta.dry_run = true;
  if (v["relevant-at"] !== undefined && v["label-column"] === undefined)
    throw usage("--relevant-at goes with --label-column: it says which graded labels count as relevant");
  const relevantAt = num(v["relevant-at"], "--relevant-at", () => true, "a number (a label at or above it is relevant)");
  if (relevantAt !== undefined) meta.relevant_at = relevantAt;
  answerableFlags(v, meta.policy);
  const scale = oneOf(v["score-scale"], "score-scale", SCORE_SCALES);
  if (scale !== undefined) meta.score_scale = scale;
  const tol = num(v["shift-tolerance"], "--shift-tolerance", (x) => x >= 0 && x <= 1, "in [0, 1] (drop-rate units: 0.02 = 2 points)");
  if (tol !== undefined) meta.shift_tolerance = tol;
  const checked = CalibrationMeta.safeParse(meta);
  if (!checked.success) {
    throw usage(
      "the flags do not make a valid calibration",
      ...checked.error.issues.map((i) => `${flagOf(i.path.join("."), meta.policy)}: ${i.message}`),
    );
  }
  return meta;
}

/**
 * Labels cannot travel as float32 (its body carries scores only), so --float32 with --recall or --answerable-column is
 * refused before the file is read; --answerable-column, with or without --label-column, is read only by --abstain-alpha
 * (false abstention is measured on the answerable queries; a recall gate is not).
 */
function answerableFlags(v: Values, policy: UploadMeta["policy"]): void {
  const labelled = [policy.kind === "recall" ? "--recall" : null, v["answerable-column"] !== undefined ? "--answerable-column" : null];
  const given = labelled.filter((f) => f !== null);
  if (v.float32 === true && given.length > 0)
    throw usage(
      `${given.join(" and ")} cannot be sent as float32: ${given.length > 1 ? "they go" : "it goes"} with relevance labels, and a float32 body carries scores only: upload without --float32 (NDJSON keeps every score at full precision)`,
    );
  if (v["answerable-column"] === undefined) return;
  if (typeof policy.abstention !== "object" || !("alpha" in policy.abstention))
    throw usage(
      "--answerable-column goes with --abstain-alpha A: the flags say which queries false abstention is measured on, and nothing else reads them",
    );
}
