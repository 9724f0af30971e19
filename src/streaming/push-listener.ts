/**
 * Pushing every committed change to the gate's subscribers (an activation listener, wired in src/worker/wiring.ts):
 * the event goes to the gate's hub before the answer, so a subscriber usually has it before the activating request's
 * 200. Best effort like the KV publish: a failure leaves the hub behind D1, and the hub catches up on the gate's next
 * change, on the next subscriber ahead of it, or on the cron tick (src/worker/scheduled.ts).
 */
import type { ActivationListener } from "../calibrations/activation";
import type { HubClient } from "./deps";

export const pushOnActivation = (hub: HubClient): ActivationListener => ({
  failure: "pushing the change to the gate's subscribers failed; the hub catches up from D1 on the next change or cron tick",
  run: async ({ event }) => {
    await hub.publish(event);
  },
});
