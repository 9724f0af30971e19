import { type Alert, AlertKind, AlertStatus } from "../../contract";
import type { Principal } from "../../platform/auth";
import { unitsJoined } from "../charts/scale";
import type { AlertListView } from "../data/alerts";
import { gateName, Layout, when } from "./layout";
import { Table } from "./table";

/** The filters offer what the contract has: every kind and status of an alert. */
export const ALERT_KINDS = AlertKind.options;
export const ALERT_STATUSES = AlertStatus.options;

/**
 * An alert's summary as a list shows it: the latest occurrence's sentence (what is true now), when that was and of how
 * many occurrences, and the first occurrence's sentence one click away. A repeated alert read by its first numbers
 * can sit inside its band and look like a false alarm.
 */
export function AlertSummary(props: { alert: Pick<Alert, "summary" | "first_summary" | "occurrences" | "first_seen_at" | "last_seen_at"> }) {
  const a = props.alert;
  if (a.occurrences <= 1) return <span data-field="summary">{unitsJoined(a.summary)}</span>;
  return (
    <>
      <span data-field="summary">{unitsJoined(a.summary)}</span>
      <br />
      <span class="muted" data-field="summary-when">
        latest of {a.occurrences} occurrences, {when(a.last_seen_at)}
      </span>
      {a.first_summary !== a.summary && (
        <details data-field="first-summary">
          <summary>First occurrence, {when(a.first_seen_at)}</summary>
          {unitsJoined(a.first_summary)}
        </details>
      )}
    </>
  );
}

/**
 * An alert's gate, linked to its page; a name no gate has (an uncalibrated_request for a misspelt index: no gate row,
 * so no page) is written out and said to be none, not linked to a 404.
 */
export function GateLink(props: { alert: Pick<Alert, "gate" | "gate_id">; exists: boolean; prefix?: string }) {
  const name = `${props.prefix ?? ""}${gateName(props.alert.gate)}`;
  if (props.exists) return <a href={`/ui/gates/${props.alert.gate_id}`}>{name}</a>;
  return (
    <span data-field="no-gate">
      {name} <span class="muted">(no such gate: nothing was calibrated under this name)</span>
    </span>
  );
}

/** The filters of the alert list, as its query string keeps them. */
export interface AlertListFilter {
  readonly kind?: string | undefined;
  readonly status?: string | undefined;
  readonly index?: string | undefined;
  /** Set when the list is one gate's (the overview and the gate page link here). */
  readonly gateId?: string | undefined;
}

/** The alert list's URL with `filter` and, for a later page, its cursor. */
export function alertsHref(filter: AlertListFilter, cursor?: string): string {
  const q = new URLSearchParams();
  for (const [k, v] of [
    ["status", filter.status],
    ["kind", filter.kind],
    ["index", filter.index],
    ["gate_id", filter.gateId],
    ["cursor", cursor],
  ] as const) {
    if (v !== undefined) q.set(k, v);
  }
  const qs = q.toString();
  return qs === "" ? "/ui/alerts" : `/ui/alerts?${qs}`;
}

export function AlertsPage(props: {
  list: AlertListView;
  /** The listed alerts' gates that have no page (data/alerts.ts gatesWithoutPage): named, not linked. */
  gatesWithoutPage: ReadonlySet<string>;
  filter: AlertListFilter;
  /** False on a page reached through a cursor (it links back to the first). */
  firstPage: boolean;
  principal: Principal;
  csrf: string;
  /** A notice above the list (a page address it could not follow). */
  flash?: string | null;
}) {
  const f = props.filter;
  return (
    <Layout title="Alerts" principal={props.principal} csrf={props.csrf} current="alerts">
      <h1>Alerts</h1>
      {props.flash && (
        <p class="notice" role="status">
          {props.flash}
        </p>
      )}
      <form method="get" action="/ui/alerts" class="filters" aria-label="Filter alerts">
        <div>
          <label for="f-status">Status</label>
          <select id="f-status" name="status">
            <option value="">any</option>
            {ALERT_STATUSES.map((s) => (
              <option value={s} selected={s === f.status}>
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
              <option value={k} selected={k === f.kind}>
                {k}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="f-index">Index</label>
          <input id="f-index" name="index" type="text" value={f.index ?? ""} size={12} />
        </div>
        {f.gateId !== undefined && <input type="hidden" name="gate_id" value={f.gateId} />}
        <div>
          <button type="submit">Filter</button>
        </div>
      </form>
      {props.list.alerts.length === 0 ? (
        <p>No alerts match.</p>
      ) : (
        <Table
          name="alerts"
          caption="Open first, then acknowledged, then resolved; newest first within each"
          captionClass="muted"
          rows={props.list.alerts}
          rowAttrs={(a) => ({ "data-alert": a.id })}
          columns={[
            { header: "Status", cell: (a) => <span class={`badge ${a.status}`}>{a.status}</span> },
            { header: "Kind", cell: (a) => <a href={`/ui/alerts/${a.id}`}>{a.kind}</a> },
            { header: "Gate", cell: (a) => <GateLink alert={a} exists={!props.gatesWithoutPage.has(a.gate_id)} /> },
            { header: "Summary (latest occurrence)", cell: (a) => <AlertSummary alert={a} /> },
            { header: "Occurrences", num: true, cell: (a) => a.occurrences },
            { header: "Last seen", cell: (a) => when(a.last_seen_at) },
          ]}
        />
      )}
      {(props.list.next_cursor !== null || !props.firstPage) && (
        <nav class="ranges" aria-label="Alert pages" data-field="pages">
          {!props.firstPage && <a href={alertsHref(f)}>First page</a>}
          {!props.firstPage && props.list.next_cursor !== null && " · "}
          {props.list.next_cursor !== null && (
            <a href={alertsHref(f, props.list.next_cursor)} rel="next" data-field="next-page">
              Next page
            </a>
          )}
        </nav>
      )}
    </Layout>
  );
}
