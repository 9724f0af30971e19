/**
 * What an alert event looks like on the wire: Standard Webhooks' {type, timestamp, data} plus a `text` field that
 * reads well in a Slack incoming webhook.
 */
import type { Alert, AlertKind } from "../contract";

const TITLES: Record<AlertKind, string> = {
  rebuild_shift: "Rebuild shift",
  drop_rate_drift: "Drop-rate drift",
  empty_context: "Empty-context rate rising",
  uncalibrated_request: "Uncalibrated gate requested",
  recall_drift: "Recall below its guarantee",
  abstention_drift: "Abstention-rate drift",
};

const EMOJI: Record<"opened" | "resolved", string> = { opened: ":rotating_light:", resolved: ":white_check_mark:" };

/** The webhook body for an alert event: Standard Webhooks' {type, timestamp, data} plus Slack's `text`. */
export function alertPayload(alert: Alert, event: "opened" | "resolved", at: string): string {
  const gate = `${alert.gate.index} / ${alert.gate.embedding} / ${alert.gate.reranker}`;
  const text =
    event === "opened"
      ? `${EMOJI.opened} *scoregate: ${TITLES[alert.kind]}* on \`${gate}\`\n${alert.summary}\nAlert ${alert.id} · calibrations ${alert.calibration_ids.join(", ") || "none"}`
      : `${EMOJI.resolved} *scoregate: resolved ${TITLES[alert.kind].toLowerCase()}* on \`${gate}\` (alert ${alert.id})`;
  return JSON.stringify({ type: `alert.${event}`, timestamp: at, text, data: alert });
}
