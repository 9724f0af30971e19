import { z } from "zod";
import { Calibration, ShiftReport, Warning } from "./calibrations";
import { Activation, GateSummary } from "./serving";
import { Alert } from "./monitoring";
import { Delivery, WebhookEndpoint } from "./webhooks";

// ---------------------------------------------------------------------------------------------------------------
// Response envelopes (listings and actions), so the client and the OpenAPI document need nothing else
// ---------------------------------------------------------------------------------------------------------------

export const ErrorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export const GateList = z.object({ gates: z.array(GateSummary) });
export const CalibrationHistory = z.object({
  gate_id: z.string(),
  calibrations: z.array(Calibration),
  activations: z.array(Activation),
  next_cursor: z.string().nullable(),
});
export const ActivationResult = z.object({
  activation: Activation,
  calibration: Calibration,
  shift: ShiftReport.nullable(),
  warnings: z.array(Warning),
});
export const AlertList = z.object({ alerts: z.array(Alert) });
export const WebhookEndpointList = z.object({ endpoints: z.array(WebhookEndpoint) });
export const DeliveryList = z.object({ deliveries: z.array(Delivery) });
export const Health = z.object({ ok: z.boolean() });
