import type { Alert } from "../../contract";
import type { Principal } from "../../platform/auth";
import { grants } from "../../platform/auth";
import type { AlertView } from "../data";
import { AdminForm, gateName, Layout, when } from "./layout";

export const ALERT_KINDS = ["rebuild_shift", "drop_rate_drift", "empty_context", "uncalibrated_request"] as const;
export const ALERT_STATUSES = ["open", "acknowledged", "resolved"] as const;

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
        <div class="table-wrap">
          <table data-table="alerts">
            <caption class="muted">Most urgent first</caption>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Kind</th>
                <th scope="col">Gate</th>
                <th scope="col">Summary</th>
                <th scope="col" class="num">
                  Occurrences
                </th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {props.alerts.map((a) => (
                <tr data-alert={a.id}>
                  <td>
                    <span class={`badge ${a.status}`}>{a.status}</span>
                  </td>
                  <td>
                    <a href={`/ui/alerts/${a.id}`}>{a.kind}</a>
                  </td>
                  <td>
                    <a href={`/ui/gates/${a.gate_id}`}>{gateName(a.gate)}</a>
                  </td>
                  <td>{a.summary}</td>
                  <td class="num">{a.occurrences}</td>
                  <td>{when(a.last_seen_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Layout>
  );
}

/** The numbers behind an alert: its details object flattened one level (nested objects as rows of their own). */
function DetailRows(props: { details: Record<string, unknown>; prefix?: string }) {
  return (
    <>
      {Object.entries(props.details).map(([k, v]) => {
        const key = props.prefix ? `${props.prefix}.${k}` : k;
        if (v !== null && typeof v === "object" && !Array.isArray(v)) return <DetailRows details={v as Record<string, unknown>} prefix={key} />;
        return (
          <tr>
            <th scope="row">
              <code>{key}</code>
            </th>
            <td>{typeof v === "number" ? String(Number(v.toPrecision(6))) : Array.isArray(v) ? JSON.stringify(v) : String(v)}</td>
          </tr>
        );
      })}
    </>
  );
}

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
      <div class="table-wrap">
        <table data-table="details">
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            <DetailRows details={a.details} />
          </tbody>
        </table>
      </div>
      <h2>Webhook deliveries</h2>
      {props.view.deliveries.length === 0 ? (
        <p>No webhook deliveries for this alert (no endpoint was enabled when it was raised).</p>
      ) : (
        <div class="table-wrap">
          <table data-table="deliveries">
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Attempts
                </th>
                <th scope="col">Last response</th>
                <th scope="col">Next attempt</th>
                {admin && <th scope="col">Action</th>}
              </tr>
            </thead>
            <tbody>
              {props.view.deliveries.map((d) => (
                <tr data-delivery={d.id}>
                  <td>{d.event_type}</td>
                  <td>
                    <code>{d.endpoint_id}</code>
                  </td>
                  <td>
                    <span class={`badge ${d.status}`}>{d.status}</span>
                  </td>
                  <td class="num">{d.attempts}</td>
                  <td>{d.last_status === null ? (d.last_error ?? "–") : `HTTP ${d.last_status}${d.last_error ? `: ${d.last_error}` : ""}`}</td>
                  <td>{when(d.next_attempt_at)}</td>
                  {admin && (
                    <td>
                      <AdminForm
                        action={`/ui/deliveries/${d.id}/replay`}
                        csrf={props.csrf}
                        extra={{ alert_id: a.id }}
                        label="Replay"
                        name={`Replay delivery ${d.id}`}
                        secondary
                      />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Layout>
  );
}
