/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, spec v1): the signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}`, signed with HMAC-SHA256 under the secret's bytes (the base64 after
 * `whsec_`), sent as `webhook-signature: v1,<base64 signature>`. Hand-written on WebCrypto because the reference
 * `standardwebhooks` package pulls a Node base64 dependency into the Worker bundle; the tests verify our output with
 * that package as an independent implementation.
 */

import { fromBase64, hmacSha256, toBase64 } from "../platform/digest";

const SECRET_PREFIX = "whsec_";

/** A new signing secret: whsec_ + base64 of 24 random bytes (the spec recommends 24 to 64). */
export function newWebhookSecret(randomBytes: Uint8Array): string {
  if (randomBytes.length < 24) throw new RangeError("newWebhookSecret: need at least 24 random bytes");
  return SECRET_PREFIX + toBase64(randomBytes);
}

/** `v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>` */
export async function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): Promise<string> {
  if (!secret.startsWith(SECRET_PREFIX)) throw new TypeError("signWebhook: secret must start with whsec_");
  const mac = await hmacSha256(fromBase64(secret.slice(SECRET_PREFIX.length)), `${id}.${timestampSeconds}.${body}`);
  return `v1,${toBase64(mac)}`;
}

/** The three headers of one attempt. The id is the same on every retry of the same event. */
export async function webhookHeaders(secret: string, id: string, timestampSeconds: number, body: string): Promise<Record<string, string>> {
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": await signWebhook(secret, id, timestampSeconds, body),
  };
}

/** Shows the first characters only: secrets are returned in full once, at creation or rotation. */
export const maskSecret = (secret: string): string => `${secret.slice(0, SECRET_PREFIX.length + 4)}…`;
