/**
 * A gate named by hand may be mistyped ("e5-large-v3" for "e5-large-v2", or the index left out, so it means
 * "default"). Every answer about a gate that does not exist says so in the same words and names the calibrated gates
 * with similar names (same models on another index, or the same index with one model equal, the differing name a
 * plausible typo): the 404 of a gate's history here, the 422 `unknown_reference` of a carry from `"active"` on a gate
 * without one (carry.ts), and the `new_gate` warning of an upload that creates a gate next to such gates (the upload still
 * creates it, as asked, so a rebuild pipeline does not start serving a new gate silently while the one it meant stays
 * on its old calibration). GET /v1/threshold's uncalibrated 404 (serving/threshold-reader.ts) uses the same title.
 */
import { DEFAULT_INDEX, type GateRef, type Warning } from "../contract";
import { AppError } from "../platform/errors";
import { editDistance } from "../platform/http/query";
import {
  GATE_NAME_MAX_EDITS_FLOOR,
  GATE_NAME_MAX_EDITS_PER_CHARACTER,
  MAX_GATE_NEIGHBOUR_CANDIDATES,
  MAX_GATE_SUGGESTIONS,
} from "../platform/limits";
import type { CalibrationStore } from "./store";

type GateName = { readonly index: string; readonly embedding: string; readonly reranker: string };

/** "index=docs embedding=e5 reranker=bge". */
const flagsOf = (g: GateName): string => `index=${g.index} embedding=${g.embedding} reranker=${g.reranker}`;

/** "docs / e5 / bge", saying what the index means when it is the default one (most often: left out). */
export const gateTitle = (g: GateName): string =>
  `${g.index} / ${g.embedding} / ${g.reranker}${g.index === DEFAULT_INDEX ? ` (index defaults to ${JSON.stringify(DEFAULT_INDEX)} when omitted)` : ""}`;

type Neighbours = Pick<CalibrationStore, "calibratedNeighbours">;

/** How far apart two gates' names are: the edit distances of index, embedding and reranker, added up. */
const nameDistance = (a: GateName, b: GateName): number =>
  editDistance(a.index, b.index) + editDistance(a.embedding, b.embedding) + editDistance(a.reranker, b.reranker);

/** A model name without its organisation ("intfloat/e5-large-v2" -> "e5-large-v2"), folded to lower case. */
const bareModel = (name: string): string => name.slice(name.lastIndexOf("/") + 1).toLowerCase();

/**
 * Whether `other` is a plausible typo of `asked`, one name of a gate: within GATE_NAME_MAX_EDITS_FLOOR edits, or a
 * third of the longer name's length (GATE_NAME_MAX_EDITS_PER_CHARACTER) when that is more, and always fewer edits than
 * the shorter name has characters (case folded). `doc` -> `docs` (1 edit) and `mien` -> `mine` (2) are typos;
 * `semi` -> `mine` (4 edits of 4 characters) and `doc` -> `faq` (3 of 3) are other names. A model name also matches
 * the same name with or without its organisation (`e5-large-v2`, `intfloat/e5-large-v2`).
 */
export function similarName(asked: string, other: string, part: "index" | "embedding" | "reranker"): boolean {
  if (part !== "index" && bareModel(asked) === bareModel(other)) return true;
  const a = asked.toLowerCase();
  const b = other.toLowerCase();
  const bound = Math.max(GATE_NAME_MAX_EDITS_FLOOR, Math.floor(Math.max(a.length, b.length) * GATE_NAME_MAX_EDITS_PER_CHARACTER));
  const d = editDistance(a, b);
  return d <= bound && d < Math.min(a.length, b.length);
}

/**
 * Whether a calibrated gate may be the one `asked` meant: each name that differs is a plausible typo (similarName),
 * except the index of a gate asked for without one (the default index): any index of the same models may be meant.
 */
function mayMean(asked: GateName, g: GateName): boolean {
  return (["index", "embedding", "reranker"] as const).every(
    (k) => asked[k] === g[k] || (k === "index" && asked.index === DEFAULT_INDEX) || similarName(asked[k], g[k], k),
  );
}

/**
 * The calibrated gates with names similar to `gate`'s (the store's neighbours: the same models under another index,
 * or the same index with one model equal, whose differing name is a plausible typo: mayMean), closest name first, at
 * most MAX_GATE_SUGGESTIONS: `--index doc` suggests `docs`, not `faq`. Equally close ones keep the store's order.
 */
export async function similarGates(gate: GateName, calibrations: Neighbours): Promise<GateName[]> {
  const candidates = await calibrations.calibratedNeighbours(gate, MAX_GATE_NEIGHBOUR_CANDIDATES);
  return candidates
    .filter((g) => mayMean(gate, g))
    .map((g, i) => ({ g, i, d: nameDistance(gate, g) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, MAX_GATE_SUGGESTIONS)
    .map(({ g }) => ({ index: g.index, embedding: g.embedding, reranker: g.reranker }));
}

/** "; did you mean index=docs embedding=e5 reranker=bge or ...?" to follow a message, or "" when nothing is similar. */
export const didYouMeanGates = (similar: readonly GateName[]): string =>
  similar.length > 0 ? `; did you mean ${similar.map(flagsOf).join(" or ")}?` : "";

/** 404 for a gate that was never calibrated, naming the calibrated gates with similar names (in details.suggestions). */
export async function unknownGateError(gate: GateRef, calibrations: Neighbours): Promise<AppError> {
  const similar = await similarGates(gate, calibrations);
  return new AppError("not_found", `no gate ${gateTitle(gate)}: a gate is created by its first calibration upload${didYouMeanGates(similar)}`, {
    suggestions: similar.map((g) => ({ index: g.index, embedding: g.embedding, reranker: g.reranker })),
  });
}

/**
 * Invisible format characters (Unicode category Cf: zero-width space U+200B, word joiner U+2060, byte order mark U+FEFF,
 * soft hyphen U+00AD, the bidi controls U+200E/F, U+202A-E, U+2066-9 ...): `docs\u200b` would be a gate that looks like
 * `docs` and is another, and a bidi override shows a name in another order than it has. ZWNJ and ZWJ (U+200C, U+200D)
 * are kept: scripts such as Persian and Indic ones, and emoji sequences, spell words with them.
 */
const INVISIBLE_FORMAT = /(?![\u200c\u200d])\p{Cf}/u;

/**
 * Hangul fillers: letters (category Lo) that most fonts draw as nothing, so "\u3164" reads as an empty name; and the
 * blank Braille pattern U+2800 (a symbol, drawn as a space).
 */
const BLANK_LETTERS = /[\u115f\u1160\u3164\uffa0\u2800]/u;

/** A joiner (ZWNJ, ZWJ: allowed inside a name) at either end joins nothing: "\u200ddocs" looks like "docs". */
const EDGE_JOINER = /^[\u200c\u200d]|[\u200c\u200d]$/u;

/** Noncharacters (U+FDD0-U+FDEF and U+xFFFE/U+xFFFF of every plane): never meant for interchange, drawn as nothing or a box. */
const NONCHARACTER = /\p{Noncharacter_Code_Point}/u;

/** A combining mark at the start of a name has nothing to combine with: "\u0301" alone is drawn as a floating accent or nothing. */
const LEADING_MARK = /^\p{M}/u;

const codeOf = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;

/** What makes a new name unreadable (its first such character), or null. */
function unreadable(name: string): string | null {
  const format = INVISIBLE_FORMAT.exec(name)?.[0];
  if (format !== undefined) return `must not contain invisible format characters (${codeOf(format)})`;
  const blank = BLANK_LETTERS.exec(name)?.[0];
  if (blank !== undefined) return `must not contain blank filler characters (${codeOf(blank)})`;
  const non = NONCHARACTER.exec(name)?.[0];
  if (non !== undefined) return `must not contain noncharacters (${codeOf(non)})`;
  const joiner = EDGE_JOINER.exec(name)?.[0];
  if (joiner !== undefined) return `must not begin or end with a joiner (${codeOf(joiner)}), which joins nothing there`;
  const mark = LEADING_MARK.exec(name)?.[0];
  return mark === undefined ? null : `must not begin with a combining mark (${codeOf(mark)}), which has nothing to combine with`;
}

/**
 * 422 for an upload whose new names hold an invisible format character, a blank filler or a noncharacter, or begin
 * with a combining mark, naming each field and the character: a new
 * gate's `index`, `embedding` and `reranker`, and an `index_version` the gate serves nothing under. Reads never refuse
 * them, so a gate stored before this rule stays readable, served and calibrated under its names.
 */
export async function refuseInvisibleNames(
  gate: GateName & { readonly index_version: string },
  gateId: string,
  calibrations: Pick<CalibrationStore, "gate" | "activeRows">,
): Promise<void> {
  const fields = (["index", "embedding", "reranker", "index_version"] as const).filter((field) => unreadable(gate[field]) !== null);
  if (fields.length === 0) return;
  const existing = (await calibrations.gate(gateId)) !== null;
  const servedVersion = existing && (await calibrations.activeRows(gateId)).some((r) => r.index_version === gate.index_version);
  const details = fields
    .filter((field) => (field === "index_version" ? !servedVersion : !existing))
    .map((field) => ({ path: field, message: unreadable(gate[field])! }));
  if (details.length === 0) return;
  throw new AppError("invalid_input", `a new gate's names must be readable: ${details.map((d) => `${d.path} ${d.message}`).join("; ")}`, details);
}

/** The `new_gate` warning of an upload that creates its gate next to calibrated gates of similar names; else null. */
export async function newGateWarning(
  gate: GateName,
  gateId: string,
  calibrations: Pick<CalibrationStore, "gate"> & Neighbours,
): Promise<Warning | null> {
  if ((await calibrations.gate(gateId)) !== null) return null;
  const similar = await similarGates(gate, calibrations);
  if (similar.length === 0) return null;
  return {
    code: "new_gate",
    message: `this upload creates the gate ${flagsOf(gate)}; calibrated gates with similar names exist: ${similar.map(flagsOf).join("; ")}. If you meant one of them, check the index, embedding and reranker you sent`,
  };
}
