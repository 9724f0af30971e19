/**
 * What the overview says before its gate tables: whether anything needs a person and where (a gate in alarm, a gate
 * with an unresolved alert of another kind, a gate services ask for that serves nothing), and the uncalibrated gates
 * asked for, which no gate row would ever show.
 */
import { counted } from "../charts/scale";
import type { OverviewView } from "../data/overview";
import type { UncalibratedAsk } from "../data/uncalibrated";
import { callerText } from "./alert-uncalibrated";
import { gateName, when } from "./layout";
import { Table } from "./table";

/**
 * The page's first words: whether anything needs a person, and where. A gate can need one without its detector being in
 * alarm (a promotion rolled back, a rebuild shift), and a service can be on its fallback for a gate that does not
 * exist: each is counted here and linked to its section, so "No gate is in alarm" never reads as "all is well".
 */
export function AttentionSummary(props: { view: OverviewView }) {
  const v = props.view;
  const alerts = [...v.alarms, ...v.attention].reduce((n, r) => n + r.alerts.length, 0) + v.uncalibrated.length;
  if (alerts === 0 && v.alarms.length === 0) {
    return (
      <p data-field="attention" data-state="calm">
        Nothing needs attention: no gate is in alarm and no alert is open or acknowledged.
      </p>
    );
  }
  const parts = [
    v.alarms.length > 0 && <a href="#in-alarm">{counted(v.alarms.length, "gate in alarm", "gates in alarm")}</a>,
    v.attention.length > 0 && (
      <a href="#with-alerts">
        {counted(v.attention.length, "gate", "gates")} {v.alarms.length > 0 ? "not in alarm " : ""}with unresolved alerts
      </a>
    ),
    v.uncalibrated.length > 0 && <a href="#uncalibrated">{counted(v.uncalibrated.length, "uncalibrated gate", "uncalibrated gates")} asked for</a>,
  ].filter((x) => x !== false);
  return (
    <p class="attention" data-field="attention" data-state="attention">
      <strong>Needs attention: {counted(alerts, "unresolved alert", "unresolved alerts")}</strong> on{" "}
      {parts.map((part, i) => (
        <>
          {i === 0 ? "" : i === parts.length - 1 ? " and " : ", "}
          {part}
        </>
      ))}
      .
    </p>
  );
}

/**
 * The gates services keep asking for that serve nothing (each an uncalibrated_request alert): no gate row exists for
 * a misspelt index, so they are listed here, each linked to its alert, with the calibrated gates of similar names its
 * alert suggests.
 */
export function UncalibratedTable(props: { asks: readonly UncalibratedAsk[] }) {
  return (
    <>
      <h2 id="uncalibrated">Uncalibrated gates asked for ({props.asks.length})</h2>
      <Table
        name="uncalibrated"
        caption="A service asked for these gates in several minutes and runs on its fallback: each has no active calibration."
        captionClass="muted"
        rows={props.asks}
        rowAttrs={({ alert }) => ({ "data-alert": alert.id })}
        columns={[
          {
            header: "Gate asked for (index / embedding / reranker)",
            rowHeader: true,
            cell: ({ alert }) => <a href={`/ui/alerts/${alert.id}`}>{gateName(alert.gate)}</a>,
          },
          {
            header: "Alert",
            field: "status",
            cell: ({ alert }) => <span class={`badge ${alert.status}`}>{alert.status}</span>,
          },
          { header: "Asked by", field: "caller", cell: ({ alert }) => callerText(alert.details) },
          { header: "Last asked", field: "last-seen", cell: ({ alert }) => when(alert.last_seen_at) },
          {
            header: "Did you mean",
            field: "suggestions",
            cell: ({ suggestions }) =>
              suggestions.length === 0
                ? "–"
                : suggestions.map((s) => (
                    <div>
                      <a href={`/ui/gates/${s.gate_id}`}>{gateName(s.gate)}</a>
                    </div>
                  )),
          },
        ]}
      />
    </>
  );
}
