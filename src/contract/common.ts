import { z } from "zod";
import {
  DEFAULT_INDEX,
  DEFAULT_PAGE_SIZE,
  MAX_BATCH_ID_LENGTH,
  MAX_CANDIDATES_PER_QUERY,
  MAX_ID_LENGTH,
  MAX_PAGE_SIZE,
  MAX_REFERENCE_SCORES,
  MAX_SCORES,
} from "./limits";
import { wholeNumberPattern } from "./whole-number-pattern";

// ---------------------------------------------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------------------------------------------

// Control characters (C0, DEL, C1) would corrupt logs, headers and keys; everything else, including "/", "@", ":"
// and spaces, is allowed because real model ids use them (`BAAI/bge-reranker-v2-m3@5f0c1a`).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point of this regex.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/u;

/**
 * An unpaired UTF-16 surrogate (`"\ud800"`, legal in JSON): with the u flag, \p{Cs} matches only those, a pair being
 * one code point. Storage cannot keep one (D1 reads it back as U+FFFD), so no stored string may hold one.
 */
const LONE_SURROGATE = /\p{Cs}/u;
const WELL_FORMED = { error: "must be valid Unicode (no lone surrogates)" };
const wellFormed = (s: string): boolean => !LONE_SURROGATE.test(s);

/** "is required" when missing, "must be a string" otherwise; for the schema only, never for its checks' issues. */
const STRING_ERROR = { error: (iss: { input?: unknown }) => (iss.input === undefined ? "is required" : "must be a string") };

/**
 * The message of a `.max(max)` on a string, with the size sent, counted as zod counts it: in code points (a character
 * outside the BMP, an emoji, is one), not UTF-16 units.
 */
export const atMostCharacters = (max: number) => ({
  error: (iss: { input?: unknown }) => `must be at most ${max} characters (got ${[...(iss.input as string)].length})`,
});

/**
 * The error of a rate or share above `max` (drop rates and their tolerances are rates: 0.02 is 2 points; a sample rate
 * is a share: 0.2 is 20 %); a value that reads as hundredths (above 1, at most 100) says what it would be as a rate,
 * the likeliest mistake (`8` meant as 8 points, `20` as 20 %).
 */
export const atMostRate = (max: number, as: "points" | "percent" = "points") => ({
  error: (iss: { input?: unknown }) =>
    typeof iss.input === "number" && iss.input > 1 && iss.input <= 100
      ? as === "points"
        ? `must be at most ${max}: a rate, not points (${iss.input} points is ${iss.input / 100})`
        : `must be at most ${max}: a share, not a percentage (${iss.input} % is ${iss.input / 100})`
      : `must be at most ${max}`,
});

/** No control character at all (ids, batch ids, URLs: a tab or a line break is never part of one). */
export const noControlChars = (s: string): boolean => !CONTROL_CHARS.test(s);

/** Control characters but the tab, the line feed and the carriage return, which free text may hold. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point of this regex.
const TEXT_CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u;

/**
 * Stored free text (a reason, a note, a description): at most `max` characters (code points), valid Unicode, no
 * control characters but tabs and line breaks (a NUL or a bell stored in an audit reason would reach the dashboard,
 * the CLI and a Slack message as it is). `oneLine`: none at all (a URL: its parser drops tabs and line breaks).
 */
export const StoredText = (max: number, oneLine = false) =>
  z
    .string(STRING_ERROR)
    .max(max, atMostCharacters(max))
    .refine(
      (s) => !(oneLine ? CONTROL_CHARS : TEXT_CONTROL_CHARS).test(s),
      oneLine
        ? { error: "must not contain control characters" }
        : { error: "must not contain control characters (tab, line feed and carriage return are allowed)" },
    )
    .refine(wellFormed, WELL_FORMED);

/**
 * An id: 1..MAX_ID_LENGTH characters (code points) after Unicode NFC normalization, valid Unicode, no control characters,
 * no whitespace at either end. A new gate's names also refuse invisible format characters (calibrations/gate-names.ts).
 */
export const Id = z
  .string(STRING_ERROR)
  .transform((s) => s.normalize("NFC"))
  .pipe(
    z
      .string()
      .min(1, { error: "must not be empty" })
      .max(MAX_ID_LENGTH, atMostCharacters(MAX_ID_LENGTH))
      .refine((s) => !CONTROL_CHARS.test(s), { error: "must not contain control characters" })
      // " docs" would be another gate than "docs", one no reader meant to name (a value pasted with a space)
      .refine((s) => s.trim() === s, { error: "must not begin or end with whitespace" })
      .refine(wellFormed, WELL_FORMED),
  )
  // The OpenAPI document shows the input: no maxLength there, as the limit counts after normalization (a decomposed
  // name longer than it may compose to one within it).
  .meta({
    minLength: 1,
    description: `1 to ${MAX_ID_LENGTH} characters after Unicode NFC normalization; no control characters, no whitespace at either end`,
  });

/** A gate: which reranker gate of which collection, keyed by embedding model and reranker checkpoint. */
export const GateRef = z.object({
  index: Id.default(DEFAULT_INDEX),
  embedding: Id,
  reranker: Id,
});
export type GateRef = z.infer<typeof GateRef>;

/**
 * A page size in a query string: digits only, 1..MAX_PAGE_SIZE. Parsed strictly (no "1e1", " 5", "0x10", "5.0"):
 * z.coerce would read all of them as numbers. The OpenAPI document's pattern is the exact set (the digits and the
 * bound in one), which the regex and `.max` check here in two steps; metadata only, the checks are the same.
 */
export const PageLimit = z
  .string()
  .regex(/^[1-9][0-9]{0,5}$/u, { error: `must be a whole number from 1 to ${MAX_PAGE_SIZE}` })
  .meta({ pattern: wholeNumberPattern(1, MAX_PAGE_SIZE), description: `a whole number from 1 to ${MAX_PAGE_SIZE}` })
  .transform(Number)
  .pipe(z.number().max(MAX_PAGE_SIZE, { error: `must be a whole number from 1 to ${MAX_PAGE_SIZE}` }))
  .default(DEFAULT_PAGE_SIZE);

/** Base-36 characters of the check that starts every listing cursor (src/platform/http/cursor.ts makes and checks it). */
export const CURSOR_CHECK_LENGTH = 6;

/** Base-36 digits of a listing's database order in a cursor: every positive safe integer fits. */
const MAX_CURSOR_ORDER_DIGITS = 11;

/**
 * An opaque listing cursor as returned in `next_cursor`: its shape (a check, then the position, in base 36) is
 * checked here, its check against the listing by the server; anything else is refused, never truncated.
 */
export const Cursor = z.string().regex(new RegExp(`^[0-9a-z]{${CURSOR_CHECK_LENGTH + 1},${CURSOR_CHECK_LENGTH + MAX_CURSOR_ORDER_DIGITS}}$`, "u"), {
  error: "is not a cursor this API returned (pass next_cursor back unchanged)",
});

export const CalibrationId = z.string().regex(/^cal_[0-9a-z]{10,40}$/u, { error: "is not a calibration id" });

// ---------------------------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------------------------

/** What a null score most likely is: pandas writes NaN as null (to_json), so a frame's missing scores arrive as null. */
export const NULL_SCORE = "must be a finite number, not null (pandas writes NaN as null: drop or fill those)";

/** A finite score (zod rejects NaN and Infinity; JSON 1e400 parses to Infinity and is refused here). */
export const Score = z.number({ error: (iss) => (iss.input === null ? NULL_SCORE : "must be a finite number") });
export const Scores = z
  .array(Score, { error: "must be an array of numbers" })
  .min(1, { error: "must not be empty" })
  .max(MAX_SCORES, { error: `must hold at most ${MAX_SCORES} scores` });

// ---------------------------------------------------------------------------------------------------------------
// Guards and abstention (docs/methods.md, "Guards and abstention"), composable with every policy kind
// ---------------------------------------------------------------------------------------------------------------

const guardCount = (what: string) =>
  z
    .number({ error: "must be a whole number" })
    .int({ error: "must be a whole number" })
    .min(what === "min_keep" ? 0 : 1, { error: what === "min_keep" ? "must be at least 0" : "must be at least 1" })
    .max(MAX_CANDIDATES_PER_QUERY, { error: `must be at most ${MAX_CANDIDATES_PER_QUERY}` });

/** Rates and targets are shares: a 20 sent for 20 % is told so. */
const SHARE_NOT_PERCENT = "must be in [0, 1): a share, 0.2 for 20 %";
const OPEN_SHARE_NOT_PERCENT = "must be in (0, 1): a share, 0.1 for 10 %";

/** A rate or level in the open interval (0, 1). */
const openUnit = z.number({ error: "must be a number" }).gt(0, { error: "must be in (0, 1)" }).lt(1, { error: OPEN_SHARE_NOT_PERCENT });

/**
 * Certified abstention: the query abstains (keeps nothing) when its top score is below the fitted `abstain_below`.
 * `{alpha}`: with labels, at most alpha of answerable queries abstain (a finite-sample guarantee); `{rate}`: without
 * labels, the share of queries that abstain; `"carry"` (policy kind carry): the reference calibration's abstention
 * rate, refitted on the new top scores.
 */
export const AbstentionPolicy = z.union(
  [
    z.strictObject({ alpha: openUnit }),
    z.strictObject({
      rate: z.number({ error: "must be a number" }).min(0, { error: "must be in [0, 1)" }).lt(1, { error: SHARE_NOT_PERCENT }),
    }),
    z.literal("carry"),
  ],
  { error: 'must be {"alpha": a} (labels), {"rate": p} or "carry"' },
);
export type AbstentionPolicy = z.infer<typeof AbstentionPolicy>;

/** The guard fields every policy kind takes. Omitted: no guard (min_keep 0, no cap), no abstention. */
const GuardFields = {
  /** Keep at least the top min_keep candidates of every query (all of a shorter one). */
  min_keep: guardCount("min_keep").optional(),
  /** Keep at most max_keep candidates of any query; null or omitted: no cap. */
  max_keep: guardCount("max_keep").nullable().optional(),
  abstention: AbstentionPolicy.optional(),
};

/** max_keep must not be below min_keep (a cap below the floor keeps nothing consistent). */
const guardsConsistent = (p: { min_keep?: number | undefined; max_keep?: number | null | undefined }): boolean =>
  p.max_keep === undefined || p.max_keep === null || p.max_keep >= (p.min_keep ?? 0);
const GUARDS_INCONSISTENT = { error: "must be at least min_keep", path: ["max_keep"] };

export const DropRatePolicy = z
  .strictObject({
    kind: z.literal("drop_rate"),
    /** Share of candidates to drop, 0 <= target < 1. 0 keeps everything (no gate). */
    target: z.number({ error: "must be a number" }).min(0, { error: "must be in [0, 1)" }).lt(1, { error: SHARE_NOT_PERCENT }),
    ...GuardFields,
  })
  .refine(guardsConsistent, GUARDS_INCONSISTENT);

export const CarryReference = z.union(
  [
    z.literal("active"),
    z.strictObject({ calibration_id: CalibrationId }),
    z.strictObject({
      scores: z
        .array(Score, { error: "must be an array of numbers" })
        .min(1, { error: "must not be empty" })
        .max(MAX_REFERENCE_SCORES, { error: `must hold at most ${MAX_REFERENCE_SCORES} scores` }),
    }),
  ],
  { error: 'must be "active", {"calibration_id": "cal_..."} or {"scores": [...]}: the calibration whose drop rate is carried' },
);

export const CarryPolicy = z
  .strictObject({
    kind: z.literal("carry"),
    /** The old absolute threshold. Omitted: the reference calibration's own threshold. */
    threshold: Score.optional(),
    reference: CarryReference,
    ...GuardFields,
  })
  .refine(guardsConsistent, GUARDS_INCONSISTENT);

/** What a recall gate guarantees for a fresh query (docs/methods.md, "Label-aware gates (recall)"). */
export const CoverageNotion = z.enum(["any_relevant", "all_relevant", "candidates"], {
  error: 'must be "any_relevant", "all_relevant" or "candidates"',
});
export type CoverageNotion = z.infer<typeof CoverageNotion>;

/** A label-aware gate: the highest threshold that keeps relevant candidates with probability at least `target`. */
export const RecallPolicy = z
  .strictObject({
    kind: z.literal("recall"),
    /** Target coverage r, 0 < r < 1. */
    target: z.number({ error: "must be a number" }).gt(0, { error: "must be in (0, 1)" }).lt(1, { error: OPEN_SHARE_NOT_PERCENT }),
    /** any_relevant: at least one relevant candidate kept; all_relevant: all of them; candidates: a relevant candidate. */
    coverage: CoverageNotion.default("any_relevant"),
    ...GuardFields,
  })
  .refine(guardsConsistent, GUARDS_INCONSISTENT);

export const Policy = z.discriminatedUnion("kind", [DropRatePolicy, CarryPolicy, RecallPolicy], {
  error:
    'must be {"kind": "drop_rate", "target": d}, {"kind": "carry", "threshold"?: t, "reference": ...} or {"kind": "recall", "target": r, "coverage"?: ...}',
});
export type Policy = z.infer<typeof Policy>;

/** How a policy is stored and echoed: inline reference scores are replaced by their count. */
/**
 * The guard fields as stored and echoed: present only when the upload set them (policies stored before guards have
 * none). The guards a gate applies are served as `guards` and `abstain_below` (contract/serving.ts).
 */
const StoredGuardFields = {
  min_keep: z.number().int().optional(),
  max_keep: z.number().int().nullable().optional(),
  abstention: z.union([z.object({ alpha: z.number() }), z.object({ rate: z.number() }), z.literal("carry")]).optional(),
};

export const StoredPolicy = z.union([
  z.object({ kind: z.literal("drop_rate"), target: z.number(), ...StoredGuardFields }),
  z.object({ kind: z.literal("recall"), target: z.number(), coverage: CoverageNotion, ...StoredGuardFields }),
  z.object({
    kind: z.literal("carry"),
    threshold: z.number().nullable(),
    reference: z.union([z.literal("active"), z.object({ calibration_id: z.string() }), z.object({ inline_scores: z.number().int() })]),
    ...StoredGuardFields,
  }),
]);
export type StoredPolicy = z.infer<typeof StoredPolicy>;

export const ScoreScale = z.enum(["probability", "logit", "unbounded"], {
  error: 'must be "probability", "logit" or "unbounded"',
});
export type ScoreScale = z.infer<typeof ScoreScale>;

/**
 * What every production batch starts with: its id (a retried batch with the same id is never counted twice) and
 * which calibration it belongs to: `calibration_id` (the one whose threshold the service applied, from
 * GET /v1/threshold), or the gate fields (the gate's current calibration).
 */
export const BatchTarget = {
  batch_id: z
    .string()
    .min(1)
    .max(MAX_BATCH_ID_LENGTH, atMostCharacters(MAX_BATCH_ID_LENGTH))
    .refine(noControlChars, { error: "must not contain control characters" })
    .refine(wellFormed, WELL_FORMED),
  calibration_id: CalibrationId.optional(),
  index: Id.optional(),
  embedding: Id.optional(),
  reranker: Id.optional(),
  index_version: Id.optional(),
};
