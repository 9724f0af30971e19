/**
 * The `standardwebhooks` package (the reference implementation of the Standard Webhooks spec), loaded by Node itself.
 * It ships a sourcemap whose sources are not in the package; loaded through Vite's transform (as a plain import in a
 * global setup file is), Vite warns about it on every cold run. Requiring it natively skips the transform.
 */
import { createRequire } from "node:module";

type StandardWebhooks = typeof import("standardwebhooks");

const require = createRequire(import.meta.url);
const lib = require("standardwebhooks") as StandardWebhooks;

export const Webhook = lib.Webhook;
export const WebhookVerificationError = lib.WebhookVerificationError;
