import { z } from "zod";
import { Alert } from "./alerts";
import { Calibration, ShiftReport, Warning } from "./calibrations";
import { Activation, GateSummary } from "./serving";
import { WebhookEndpoint } from "./webhooks";

// ---------------------------------------------------------------------------------------------------------------
// Response envelopes (listings and actions), so the client and the OpenAPI document need nothing else
// ---------------------------------------------------------------------------------------------------------------

/** A page of gates in creation order; `next_cursor` (null on the last page) goes back as `cursor` for the next. */
export const GateList = z.object({ gates: z.array(GateSummary), next_cursor: z.string().nullable() });
export const CalibrationHistory = z.object({
  gate_id: z.string(),
  calibrations: z.array(Calibration),
  activations: z.array(Activation),
  next_cursor: z.string().nullable(),
});
export const ActivationResult = z.object({
  /**
   * The activation recorded; null in a dry run, which records nothing, and when the calibration was already the gate's
   * current one (`already_current`).
   */
  activation: Activation.nullable(),
  calibration: Calibration,
  shift: ShiftReport.nullable(),
  warnings: z.array(Warning),
  /** True when this was a dry run: nothing was activated, logged, published or alerted. */
  dry_run: z.boolean(),
  /**
   * True when the calibration already was the gate's current one and no promotion was under way: the gate serves
   * what it served, and nothing was logged, published, pushed or alerted (a dry run says whether activating would
   * be such a no-op). Absent from servers before it.
   */
  already_current: z.boolean().optional(),
});
/** A page of alerts, newest first; `next_cursor` (null on the last page) goes back as `cursor` for the next. */
export const AlertList = z.object({ alerts: z.array(Alert), next_cursor: z.string().nullable() });
export const WebhookEndpointList = z.object({ endpoints: z.array(WebhookEndpoint) });
export const Health = z.object({ ok: z.boolean(), ready: z.boolean().optional() });
/** GET / for API clients: what this is and where to read more. */
export const ServiceIndex = z.object({
  service: z.literal("scoregate"),
  docs: z.string(),
  openapi: z.string(),
  /** The interactive API reference (a browser page). */
  reference: z.string(),
  /** The dashboard; a browser asking for `/` is redirected there. */
  dashboard: z.string(),
  endpoints: z.array(z.string()),
});
