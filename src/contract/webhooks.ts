import { z } from "zod";
import { atMostCharacters, Cursor, PageLimit, StoredText } from "./common";
import { MAX_FILTER_ID_LENGTH, MAX_WEBHOOK_DESCRIPTION_LENGTH, MAX_WEBHOOK_URL_LENGTH } from "./limits";

// ---------------------------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------------------------

const SECRET_FORM = { error: "must be whsec_ followed by base64 of 24 to 96 random bytes" };

/**
 * Whether the base64 after `whsec_` can decode: its length must be a multiple of 4 (`=` padding included). 33
 * characters passed the pattern alone, and every delivery then failed to sign, for 27.6 hours.
 */
const decodes = (s: string): boolean => (s.length - "whsec_".length) % 4 === 0;

// 32 to 128 characters whose length is a multiple of 4 (padding included) decode to 24 to 96 bytes: the pattern and
// the length are the whole check. One message each: the length is checked only once the pattern holds.
const WebhookSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]{32,128}={0,2}$/u, { ...SECRET_FORM, abort: true })
  .refine(decodes, { error: "must be whsec_ followed by base64 whose length is a multiple of 4 (pad it with =)" });

/** An endpoint's URL as stored: no control character (a URL parser drops tabs and line breaks, and NUL cannot be sent). */
const WebhookUrl = StoredText(MAX_WEBHOOK_URL_LENGTH, true);

export const WebhookCreate = z.strictObject({
  url: WebhookUrl,
  secret: WebhookSecret.optional(),
  description: StoredText(MAX_WEBHOOK_DESCRIPTION_LENGTH).optional(),
  enabled: z.boolean().default(true),
});

export const WebhookUpdate = z.strictObject({
  url: WebhookUrl.optional(),
  secret: WebhookSecret.optional(),
  /** null clears it. */
  description: StoredText(MAX_WEBHOOK_DESCRIPTION_LENGTH).nullable().optional(),
  enabled: z.boolean().optional(),
});

export const WebhookEndpoint = z.object({
  id: z.string(),
  url: z.string(),
  /** Shown in full only when the endpoint is created or its secret rotated; masked otherwise. */
  secret: z.string(),
  description: z.string().nullable(),
  enabled: z.boolean(),
  disabled_reason: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  /** The token name that created the endpoint or last changed it (null: last changed before this was recorded). */
  updated_by: z.string().nullable(),
});
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;

export const DeliveryStatus = z.enum(["pending", "delivered", "failed"]);

export const Delivery = z.object({
  id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  alert_id: z.string(),
  endpoint_id: z.string(),
  status: DeliveryStatus,
  attempts: z.number().int(),
  next_attempt_at: z.string().nullable(),
  last_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  delivered_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Delivery = z.infer<typeof Delivery>;

export const DeliveryQuery = z.object({
  status: DeliveryStatus.optional(),
  endpoint_id: z.string().min(1, { error: "must not be empty" }).max(MAX_FILTER_ID_LENGTH, atMostCharacters(MAX_FILTER_ID_LENGTH)).optional(),
  limit: PageLimit,
  cursor: Cursor.optional(),
});

/**
 * A page of deliveries, newest first (by `created_at`, then by `id`); `next_cursor` (null on the last page) goes back
 * as `cursor` for older ones, with the same filters.
 */
export const DeliveryPage = z.object({ deliveries: z.array(Delivery), next_cursor: z.string().nullable() });

export const WebhookDeleted = z.object({ id: z.string(), deleted_at: z.string(), deleted_by: z.string(), failed_deliveries: z.number().int() });
