/**
 * Stored strings and their bounds, as the API words them: ids and free text with a lone UTF-16 surrogate are refused
 * (storage would keep U+FFFD instead); a too-long string says its limit and its size in code points, never "must be
 * a string"; each problem is listed once.
 */
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  ActivateBody,
  AlertAction,
  AlertQuery,
  CalibrationUpload,
  DeliveryQuery,
  GateEventsQuery,
  JudgmentBatch,
  MAX_BATCH_ID_LENGTH,
  MAX_BATCH_PROMOTION_STEP,
  MAX_FILTER_ID_LENGTH,
  MAX_ID_LENGTH,
  MAX_NOTE_LENGTH,
  MAX_PROMOTION_STEPS,
  MAX_WEBHOOK_DESCRIPTION_LENGTH,
  MAX_WEBHOOK_URL_LENGTH,
  ObservationBatch,
  PromotionPlanBody,
  ReasonBody,
  ShadowBody,
  ShadowRateBody,
  WebhookCreate,
  WebhookUpdate,
} from "../../src/contract";
import { AppError, type ErrorDetail } from "../../src/platform/errors";
import { validate } from "../../src/platform/http/validate";

/** The details of the 422 `validate` answers for `value`. */
function refused(schema: z.ZodType, value: unknown): ErrorDetail[] {
  try {
    validate(schema, value, "invalid_input", "request");
  } catch (e) {
    if (e instanceof AppError) return e.details as ErrorDetail[];
    throw e;
  }
  throw new Error(`expected a refusal of ${JSON.stringify(value)}`);
}

const LONE = ["\ud800", "\udfff", "a\udc00\ud800b", "ok\ud83d"];
const NO_LONE_SURROGATES = "must be valid Unicode (no lone surrogates)";
const upload = { embedding: "e5", reranker: "bge", index_version: "v1", policy: { kind: "drop_rate", target: 0.3 }, scores: [1, 2, 3] };
const batch = { batch_id: "b1", calibration_id: "cal_0123456789", queries: [[20, 4]] };
const judgments = { batch_id: "b1", calibration_id: "cal_0123456789", queries: [{ scores: [0.5], relevance: [1] }] };

/** Every stored string a request sends: its schema, the body holding `s`, and the length limit. */
const STORED: readonly { name: string; schema: z.ZodType; body: (s: string) => unknown; path: string; max: number }[] = [
  { name: "an upload's index", schema: CalibrationUpload, body: (s) => ({ ...upload, index: s }), path: "index", max: MAX_ID_LENGTH },
  {
    name: "an upload's index_version",
    schema: CalibrationUpload,
    body: (s) => ({ ...upload, index_version: s }),
    path: "index_version",
    max: MAX_ID_LENGTH,
  },
  { name: "an activation reason", schema: ActivateBody, body: (s) => ({ reason: s }), path: "reason", max: MAX_NOTE_LENGTH },
  { name: "a shadow's reason", schema: ShadowBody, body: (s) => ({ reason: s }), path: "reason", max: MAX_NOTE_LENGTH },
  {
    name: "a shadow rate change's reason",
    schema: ShadowRateBody,
    body: (s) => ({ sample_rate: 0.2, reason: s }),
    path: "reason",
    max: MAX_NOTE_LENGTH,
  },
  { name: "a shadow removal's or override's reason", schema: ReasonBody, body: (s) => ({ reason: s }), path: "reason", max: MAX_NOTE_LENGTH },
  { name: "a promotion's reason", schema: PromotionPlanBody, body: (s) => ({ reason: s }), path: "reason", max: MAX_NOTE_LENGTH },
  { name: "an alert note", schema: AlertAction, body: (s) => ({ note: s }), path: "note", max: MAX_NOTE_LENGTH },
  {
    name: "a webhook description",
    schema: WebhookCreate,
    body: (s) => ({ url: "http://localhost:9/h", description: s }),
    path: "description",
    max: MAX_WEBHOOK_DESCRIPTION_LENGTH,
  },
  {
    name: "a webhook description (update)",
    schema: WebhookUpdate,
    body: (s) => ({ description: s }),
    path: "description",
    max: MAX_WEBHOOK_DESCRIPTION_LENGTH,
  },
  { name: "a webhook URL", schema: WebhookCreate, body: (s) => ({ url: `http://localhost:9/${s}` }), path: "url", max: MAX_WEBHOOK_URL_LENGTH },
  {
    name: "a webhook URL (update)",
    schema: WebhookUpdate,
    body: (s) => ({ url: `http://localhost:9/${s}` }),
    path: "url",
    max: MAX_WEBHOOK_URL_LENGTH,
  },
  { name: "an observation batch id", schema: ObservationBatch, body: (s) => ({ ...batch, batch_id: s }), path: "batch_id", max: MAX_BATCH_ID_LENGTH },
  { name: "a judgment batch id", schema: JudgmentBatch, body: (s) => ({ ...judgments, batch_id: s }), path: "batch_id", max: MAX_BATCH_ID_LENGTH },
  {
    name: "an observation's gate",
    schema: ObservationBatch,
    body: (s) => ({ ...batch, embedding: s, reranker: "r" }),
    path: "embedding",
    max: MAX_ID_LENGTH,
  },
];

describe("a lone UTF-16 surrogate is refused in every stored string", () => {
  for (const { name, schema, body, path } of STORED) {
    it(name, () => {
      for (const s of LONE) expect(refused(schema, body(s)), JSON.stringify(s)).toEqual([{ path, message: NO_LONE_SURROGATES }]);
      // a surrogate pair is one character and stays accepted
      expect(schema.safeParse(body("ok 😀")).success).toBe(true);
    });
  }
});

describe("control characters are refused in every stored string; free text keeps its tabs and line breaks", () => {
  const CONTROLS = ["a\u0000b", "\u0007", "x\u001by", "\u007f", "\u0085"];
  for (const { name, schema, body, path } of STORED) {
    it(name, () => {
      for (const s of CONTROLS)
        expect(
          refused(schema, body(s)).map((d) => d.path),
          JSON.stringify(s),
        ).toEqual([path]);
      // ids, batch ids and URLs take no tab or line break at all; a reason, a note or a description may have them
      const text = !["url", "batch_id", "index", "index_version", "embedding"].includes(path);
      for (const s of ["two\nlines", "a\tb", "a\r\nb"]) expect(schema.safeParse(body(s)).success, JSON.stringify(s)).toBe(text);
    });
  }
});

describe("a too-long stored string says its limit and its size in characters (code points)", () => {
  for (const { name, schema, body, path, max } of STORED) {
    it(name, () => {
      const prefix = path === "url" ? "http://localhost:9/".length : 0;
      expect(refused(schema, body("x".repeat(max + 1 - prefix)))).toEqual([{ path, message: `must be at most ${max} characters (got ${max + 1})` }]);
      // zod counts code points: as many emoji as the limit allows are accepted, one more is counted as one
      expect(schema.safeParse(body("😀".repeat(max - prefix))).success).toBe(true);
      expect(refused(schema, body("😀".repeat(max + 1 - prefix)))).toEqual([{ path, message: `must be at most ${max} characters (got ${max + 1})` }]);
    });
  }

  it("a string of the wrong type still says so", () => {
    expect(refused(ActivateBody, { reason: 5 })).toEqual([{ path: "reason", message: "must be a string" }]);
    expect(refused(WebhookCreate, {})).toEqual([{ path: "url", message: "is required" }]);
  });

  it("the gate_id and endpoint_id filters", () => {
    const long = "x".repeat(MAX_FILTER_ID_LENGTH + 1);
    const message = `must be at most ${MAX_FILTER_ID_LENGTH} characters (got ${MAX_FILTER_ID_LENGTH + 1})`;
    expect(refused(AlertQuery, { gate_id: long })).toEqual([{ path: "gate_id", message }]);
    expect(refused(DeliveryQuery, { endpoint_id: long })).toEqual([{ path: "endpoint_id", message }]);
  });
});

describe("bounds of numbers name the bound", () => {
  it("promotion.step of an observation batch", () => {
    const promotion = (step: unknown) => ({ ...batch, promotion: { id: "prm_0123456789", step, arm: "control" } });
    expect(refused(ObservationBatch, promotion(MAX_BATCH_PROMOTION_STEP + 1))).toEqual([
      { path: "promotion.step", message: `must be a step index from 0 to ${MAX_BATCH_PROMOTION_STEP} (got ${MAX_BATCH_PROMOTION_STEP + 1})` },
    ]);
    expect(refused(ObservationBatch, promotion(-1))).toEqual([
      { path: "promotion.step", message: `must be a step index from 0 to ${MAX_BATCH_PROMOTION_STEP}` },
    ]);
    expect(refused(ObservationBatch, promotion(1.5))).toEqual([{ path: "promotion.step", message: "must be a whole number" }]);
    expect(ObservationBatch.safeParse(promotion(MAX_BATCH_PROMOTION_STEP)).success).toBe(true);
  });

  it("an observation batch's score sample", () => {
    expect(refused(ObservationBatch, { ...batch, scores: new Array(10_001).fill(0.5) })).toEqual([
      { path: "scores", message: "must hold at most 10000 scores: send a smaller sample" },
    ]);
  });
});

describe("one problem is listed once", () => {
  it("an event seq that is not digits", () => {
    expect(refused(GateEventsQuery, { after: "abc" })).toHaveLength(1);
    expect(refused(GateEventsQuery, { after: "99999999999999999" })).toHaveLength(1);
  });

  it("an empty or too long promotion plan", () => {
    expect(refused(PromotionPlanBody, { steps: [] })).toHaveLength(1);
    const tooMany = Array.from({ length: MAX_PROMOTION_STEPS + 1 }, (_, i) => 50 - i);
    expect(refused(PromotionPlanBody, { steps: tooMany })).toHaveLength(1);
    expect(refused(PromotionPlanBody, { steps: [50, 10] })).toHaveLength(1);
  });
});

describe('an id with whitespace at either end is refused: " docs" would be another gate than "docs"', () => {
  for (const index of [" docs", "docs ", "\u00a0docs", " ", "docs\u2003"]) {
    it(JSON.stringify(index), () => {
      expect(refused(CalibrationUpload, { ...upload, index })).toEqual([{ path: "index", message: "must not begin or end with whitespace" }]);
    });
  }
  it("inner spaces stay allowed: real names have them", () => {
    expect(() => validate(CalibrationUpload, { ...upload, index: "my docs", reranker: "bge reranker v2" }, "invalid_input", "request")).not.toThrow();
  });
});
