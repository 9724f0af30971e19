import { type Alert, AlertKind, AlertStatus } from "../../contract";
import type { Principal } from "../../platform/auth";
import { grants } from "../../platform/auth";
import type { AlertView } from "../data";
import { AdminForm, gateName, Layout, when } from "./layout";
import { Table } from "./table";

/** The filters offer what the contract has: every kind and status of an alert. */
export const ALERT_KINDS = AlertKind.options;
export const ALERT_STATUSES = AlertStatus.options;

export function AlertsPage(props: {
  alerts: Alert[];
  kind: string | undefined;
  status: string | undefined;
  index: string | undefined;
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

/** The numbers behind an alert: its details with nested objects flattened into dotted keys, in order. */
function detailRows(details: Record<string, unknown>, prefix = ""): [key: string, value: unknown][] {
  return Object.entries(details).flatMap(([k, v]): [string, unknown][] => {
    const key = prefix ? `${prefix}.${k}` : k;
    return v !== null && typeof v === "object" && !Array.isArray(v) ? detailRows(v as Record<string, unknown>, key) : [[key, v]];
  });
}

const detailText = (v: unknown): string =>
  typeof v === "number" ? String(Number(v.toPrecision(6))) : Array.isArray(v) ? JSON.stringify(v) : String(v);

export function AlertPage(props: { view: AlertView; principal: Principal; csrf: string; flash: string | null }) {
  const a = props.view.alert;
  const admin = grants(props.principal.scope, "admin");
  return (
    <Layout title={`Alert ${a.kind}`} principal={props.principal} csrf={props.csrf} current="alerts">
      <p>
        <a href="/ui/alerts">All alerts</a> · <a href={`/ui/gates/${a.gate_id}`}>gate {gateName(a.gate)}</a>
      </p>
      <h1>
        {a.kind}{" "}
        <span class={`badge ${a.status}`} data-field="status">
          {a.status}
        </span>
      </h1>
      {props.flash && (
        <p class="notice" role="status">
          {props.flash}
        </p>
      )}
      <p data-field="summary">{a.summary}</p>
      <dl class="kv panel">
        <dt>First seen</dt>
        <dd>{when(a.first_seen_at)}</dd>
        <dt>Last seen</dt>
        <dd>{when(a.last_seen_at)}</dd>
        <dt>Occurrences</dt>
        <dd>{a.occurrences}</dd>
        <dt>Acknowledged</dt>
        <dd>{a.acknowledged_at ? `${when(a.acknowledged_at)} by ${a.acknowledged_by}` : "no"}</dd>
        <dt>Resolved</dt>
        <dd>{a.resolved_at ? `${when(a.resolved_at)} by ${a.resolved_by}` : "no"}</dd>
        <dt>Calibrations</dt>
        <dd>
          {a.calibration_ids.map((id) => (
            <code>{id} </code>
          ))}
        </dd>
      </dl>
      {admin ? (
        a.status !== "resolved" && (
          <p>
            {a.status === "open" && <AdminForm action={`/ui/alerts/${a.id}/acknowledge`} csrf={props.csrf} label="Acknowledge" />}{" "}
            <AdminForm action={`/ui/alerts/${a.id}/resolve`} csrf={props.csrf} label="Resolve" secondary />
          </p>
        )
      ) : (
        <p class="muted">Acknowledging and resolving need an admin token.</p>
      )}
      <h2>The numbers behind it (latest occurrence)</h2>
      <Table
        name="details"
        rows={detailRows(a.details)}
        columns={[
          { header: "Field", rowHeader: true, cell: ([key]) => <code>{key}</code> },
          { header: "Value", cell: ([, value]) => detailText(value) },
        ]}
      />
      <h2>Webhook deliveries</h2>
      {props.view.deliveries.length === 0 ? (
        <p>No webhook deliveries for this alert (no endpoint was enabled when it was raised).</p>
      ) : (
        <Table
          name="deliveries"
          rows={props.view.deliveries}
          rowAttrs={(d) => ({ "data-delivery": d.id })}
          columns={[
            { header: "Event", cell: (d) => d.event_type },
            { header: "Endpoint", cell: (d) => <code>{d.endpoint_id}</code> },
            { header: "Status", cell: (d) => <span class={`badge ${d.status}`}>{d.status}</span> },
            { header: "Attempts", num: true, cell: (d) => d.attempts },
            {
              header: "Last response",
              cell: (d) => (d.last_status === null ? (d.last_error ?? "–") : `HTTP ${d.last_status}${d.last_error ? `: ${d.last_error}` : ""}`),
            },
            { header: "Next attempt", cell: (d) => when(d.next_attempt_at) },
            admin && {
              header: "Action",
              cell: (d) => (
                <AdminForm
                  action={`/ui/deliveries/${d.id}/replay`}
                  csrf={props.csrf}
                  extra={{ alert_id: a.id }}
                  label="Replay"
                  name={`Replay delivery ${d.id}`}
                  secondary
                />
              ),
            },
          ]}
        />
      )}
    </Layout>
  );
}
