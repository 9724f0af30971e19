/**
 * Compile-time proof that the clients' plain types (wire-types.ts) equal the types the zod schemas infer: if a schema
 * changes and its plain type does not (or the reverse), `npm run typecheck` fails here. Nothing in this file runs.
 */
import type { z } from "zod";
import type * as schemas from "./index";
import type * as wire from "./wire-types";

/** True only when A and B are the same type (mutual assignability is not enough: `any` and optional modifiers differ). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

export type WireTypesMatchTheSchemas = [
  Expect<Equal<wire.ErrorCode, z.infer<typeof schemas.ErrorCode>>>,
  Expect<Equal<wire.ErrorResponse, z.infer<typeof schemas.ErrorResponse>>>,
  Expect<Equal<wire.ScoreScale, z.infer<typeof schemas.ScoreScale>>>,
  Expect<Equal<wire.CoverageNotion, z.infer<typeof schemas.CoverageNotion>>>,
  Expect<Equal<wire.StoredPolicy, z.infer<typeof schemas.StoredPolicy>>>,
  Expect<Equal<wire.ThresholdResponse, z.infer<typeof schemas.ThresholdResponse>>>,
  Expect<Equal<wire.ObservationBatch, z.infer<typeof schemas.ObservationBatch>>>,
  Expect<Equal<wire.ServedShadow, z.infer<typeof schemas.ServedShadow>>>,
  Expect<Equal<wire.ServedRollout, z.infer<typeof schemas.ServedRollout>>>,
  Expect<Equal<wire.GateEventKind, z.infer<typeof schemas.GateEventKind>>>,
  Expect<Equal<wire.GateEventPromotion, z.infer<typeof schemas.GateEventPromotion>>>,
  Expect<Equal<wire.GateEvent, z.infer<typeof schemas.GateEvent>>>,
  Expect<Equal<wire.GateHeartbeat, z.infer<typeof schemas.GateHeartbeat>>>,
  Expect<Equal<wire.SseEventName, schemas.SseEventName>>,
];
