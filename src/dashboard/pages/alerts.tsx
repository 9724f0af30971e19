import { type Alert, AlertKind, AlertStatus } from "../../contract";
import type { Principal } from "../../platform/auth";
import { gateName, Layout, when } from "./layout";
import { Table } from "./table";

/** The filters offer what the contract has: every kind and status of an alert. */
export const ALERT_KINDS = AlertKind.options;
export const ALERT_STATUSES = AlertStatus.options;

export function AlertsPage(props: {
  alerts: Alert[];
  kind: string | undefined;
  status: string | undefined;
  index: string | undefined;
  /** Set when the list is one gate's (the overview links here for rows shown from D1 alone). */
  gateId: string | undefined;
  principal: Principal;
  csrf: string;
}) {
  return (
    <Layout title="Alerts" principal={props.principal} csrf={props.csrf} current="alerts">
      <h1>Alerts</h1>
      <form method="get" action="/ui/alerts" class="filters" aria-label="Filter alerts">
        <div>
          <label for="f-status">Status</label>
          <select id="f-status" name="status">
            <option value="">any</option>
            {ALERT_STATUSES.map((s) => (
              <option value={s} selected={s === props.status}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="f-kind">Kind</label>
          <select id="f-kind" name="kind">
            <option value="">any</option>
            {ALERT_KINDS.map((k) => (
              <option value={k} selected={k === props.kind}>
                {k}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="f-index">Index</label>
          <input id="f-index" name="index" type="text" value={props.index ?? ""} size={12} />
        </div>
        {props.gateId !== undefined && <input type="hidden" name="gate_id" value={props.gateId} />}
        <div>
          <button type="submit">Filter</button>
        </div>
      </form>
      {props.alerts.length === 0 ? (
        <p>No alerts match.</p>
      ) : (
        <Table
          name="alerts"
          caption="Most urgent first"
          captionClass="muted"
          rows={props.alerts}
          rowAttrs={(a) => ({ "data-alert": a.id })}
          columns={[
            { header: "Status", cell: (a) => <span class={`badge ${a.status}`}>{a.status}</span> },
            { header: "Kind", cell: (a) => <a href={`/ui/alerts/${a.id}`}>{a.kind}</a> },
            { header: "Gate", cell: (a) => <a href={`/ui/gates/${a.gate_id}`}>{gateName(a.gate)}</a> },
            { header: "Summary", cell: (a) => a.summary },
            { header: "Occurrences", num: true, cell: (a) => a.occurrences },
            { header: "Last seen", cell: (a) => when(a.last_seen_at) },
          ]}
        />
      )}
    </Layout>
  );
}
