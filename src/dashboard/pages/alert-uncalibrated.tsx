/**
 * An uncalibrated_request alert's numbers (src/alerts/uncalibrated-alert.ts): who keeps asking for a gate that serves
 * nothing, how often, and the calibrated gates of similar names its details suggest (a misspelt index is the usual
 * cause), as the alert page and the overview's "Uncalibrated gates asked for" show them.
 */
import type { SuggestedGate } from "../data/uncalibrated";
import { Group, numberOf } from "./alert-number-parts";
import { gateName } from "./layout";

const textOf = (x: unknown): string | null => (typeof x === "string" && x !== "" ? x : null);

/** 'token "dev-read" (client rag-service/1.0)': who asked, from the alert's details; "–" when they name nobody. */
export function callerText(details: Readonly<Record<string, unknown>>): string {
  const token = textOf(details.token);
  const client = textOf(details.client);
  if (token === null) return client ?? "–";
  return `token ${JSON.stringify(token)}${client === null ? "" : ` (client ${client})`}`;
}

/** The alert page's layout of an uncalibrated_request occurrence. */
export function UncalibratedNumbers(props: { details: Readonly<Record<string, unknown>>; suggestions: readonly SuggestedGate[] }) {
  const d = props.details;
  const minutes = numberOf(d.minutes);
  const window = numberOf(d.window_minutes);
  return (
    <div class="cards">
      <Group title="Who keeps asking" field="caller">
        <dt>Token</dt>
        <dd data-field="token">{textOf(d.token) ?? "–"}</dd>
        <dt>Client</dt>
        <dd data-field="client">{textOf(d.client) ?? "not named (no User-Agent)"}</dd>
        <dt>How often</dt>
        <dd data-field="minutes">
          {minutes === null ? "–" : `in ${minutes} different minutes`}
          {window === null ? "" : ` of the last ${window}`}
        </dd>
        <dt>Index version</dt>
        <dd data-field="index-version">{textOf(d.index_version) ?? "any (none asked for)"}</dd>
      </Group>
      <Group title="What to do" field="suggestions">
        {props.suggestions.length > 0 && (
          <>
            <dt>Did you mean</dt>
            <dd>
              {props.suggestions.map((s) => (
                <div data-suggestion={s.gate_id}>
                  <a href={`/ui/gates/${s.gate_id}`}>{gateName(s.gate)}</a>
                </div>
              ))}
            </dd>
          </>
        )}
        <dt>{props.suggestions.length > 0 ? "Then" : "Fix"}</dt>
        <dd>
          Fix the gate's name where the service asks for it, or calibrate the gate (POST /v1/calibrations); until then the service serves its fallback
          threshold.
        </dd>
      </Group>
    </div>
  );
}
