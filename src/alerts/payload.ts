/**
 * What an alert event looks like on the wire: Standard Webhooks' {type, timestamp, data} plus a `text` field that
 * reads well in a Slack incoming webhook.
 *
 * Slack reads `<...>` in `text` as markup: `<!channel>` pings everyone, `<https://x|label>` is a link that shows only
 * its label. Gate names, versions, token names and client names are chosen by callers (any read token can ask for a
 * made-up gate), so `text` is escaped as Slack's formatting reference says (`&`, `<` and `>` become `&amp;`, `&lt;`,
 * `&gt;`; docs/api.md, "Payload", links it). The whole text is escaped, not only the
 * names: the text is ours apart from them and holds no markup of its own. `data` is for programs and carries every
 * field as stored.
 *
 * With PUBLIC_URL set (src/platform/public-url.ts), the body also carries `url`, the alert's dashboard page, and the
 * text ends with a link to it, the one markup of our own: added after the escaping, from a URL whose characters
 * cannot break it (the prefix's are checked, the alert id is ours and URL-encoded).
 */
import type { Alert, AlertKind } from "../contract";

const TITLES: Record<AlertKind, string> = {
  rebuild_shift: "Rebuild shift",
  drop_rate_drift: "Drop-rate drift",
  empty_context: "Empty-context rate rising",
  uncalibrated_request: "Uncalibrated gate requested",
  recall_drift: "Recall below its guarantee",
  abstention_drift: "Abstention-rate drift",
  unscored_candidates: "Candidates without a score",
  promotion_paused: "Promotion paused on a regression",
  promotion_rolled_back: "Promotion rolled back on a regression",
};

const EMOJI: Record<AlertEvent, string> = { opened: ":rotating_light:", resolved: ":white_check_mark:", repeated: ":repeat:" };

/** The events an alert sends: opened, resolved, and repeated (a new change counted on it while unresolved: shift-alert.ts). */
export type AlertEvent = "opened" | "resolved" | "repeated";

/** A repeat's own numbers: the occurrence that repeated the alert (its summary and calibrations). */
export interface Repeat {
  readonly summary: string;
  readonly calibration_ids: readonly string[];
}

/** Escapes `&`, `<` and `>` for Slack's `text` (`&` first, so an entity is never escaped twice). */
export const slackEscape = (s: string): string => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/**
 * A name inside Slack's inline code (`...`): a backtick of its own would close the span early and show the rest as
 * formatted text, so it is written as the modifier letter grave accent (U+02CB), which looks the same.
 */
const inCode = (s: string): string => `\`${s.replaceAll("`", "\u02cb")}\``;

/**
 * The alert's calibrations in the opening's last line, named by role where the kind gives them one (a rebuild shift's
 * are [served before, the one that shifted]); nothing when it names none (an uncalibrated gate's request).
 */
function calibrationsText(alert: { readonly kind: AlertKind; readonly calibration_ids: readonly string[] }): string {
  const ids = alert.calibration_ids;
  if (ids.length === 0) return "";
  if (alert.kind === "rebuild_shift" && ids.length === 2) return ` · served before ${ids[0]}, shifted to ${ids[1]}`;
  return ` · calibration${ids.length === 1 ? "" : "s"} ${ids.join(", ")}`;
}

/**
 * The webhook body for an alert event: Standard Webhooks' {type, timestamp, data} plus Slack's `text`. A repeat
 * (`alert.repeated`) carries its occurrence beside the alert as stored (`repeat`), and its text is the occurrence's.
 */
export function alertPayload(alert: Alert, event: AlertEvent, at: string, publicUrl: string | null, repeat?: Repeat): string {
  const gate = inCode(`${alert.gate.index} / ${alert.gate.embedding} / ${alert.gate.reranker}`);
  // a resolution says by whom and why: a rollback that resolved it reads apart from a click on Resolve
  const resolvedBy = alert.resolved_by === null ? "" : ` by ${alert.resolved_by}${alert.resolved_note ? `: ${alert.resolved_note}` : ""}`;
  const text =
    event === "opened"
      ? `${EMOJI.opened} *scoregate: ${TITLES[alert.kind]}* on ${gate}\n${alert.summary}\nAlert ${alert.id}${calibrationsText(alert)}`
      : event === "repeated"
        ? `${EMOJI.repeated} *scoregate: ${TITLES[alert.kind]} again* on ${gate} (alert ${alert.id}, ${alert.occurrences} occurrences, ${alert.status})\n${repeat?.summary ?? alert.summary}\nAlert ${alert.id}${calibrationsText({ kind: alert.kind, calibration_ids: repeat?.calibration_ids ?? alert.calibration_ids })}`
        : `${EMOJI.resolved} *scoregate: resolved ${TITLES[alert.kind].toLowerCase()}* on ${gate} (alert ${alert.id})${resolvedBy}`;
  const base = { type: `alert.${event}`, timestamp: at, ...(repeat === undefined ? {} : { repeat }) };
  if (publicUrl === null) return JSON.stringify({ ...base, text: slackEscape(text), data: alert });
  const url = alertPageUrl(publicUrl, alert.id);
  return JSON.stringify({ ...base, text: `${slackEscape(text)}\n<${url}|Open the alert in scoregate>`, url, data: alert });
}

/** The dashboard page of alert `id` under a PUBLIC_URL (src/dashboard/routes.tsx serves it at /ui/alerts/{id}). */
export function alertPageUrl(publicUrl: string, id: string): string {
  return `${publicUrl}/ui/alerts/${encodeURIComponent(id)}`;
}
