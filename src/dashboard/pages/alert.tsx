/**
 * One alert, for the person paged by it: what happened in one sentence (the latest occurrence's summary), its numbers
 * laid out by meaning (observed against expected, the band, the evidence, the window, the calibration), its
 * occurrences a page at a time (newest first, linked to the older ones), what was done about it, and (for sessions
 * whose scope may read them, as in the API) its webhook deliveries. The raw numbers stay one click away.
 */
import { type Alert, type AlertOccurrence, type Delivery, MAX_NOTE_LENGTH } from "../../contract";
import type { Principal } from "../../platform/auth";
import { grants } from "../../platform/auth";
import { unitsJoined } from "../charts/scale";
import { type AlertView, WATCHES_ONE_CALIBRATION } from "../data/alerts";
import { AlertGuidance } from "./alert-guidance";
import { numbersByMeaning, RawNumbers } from "./alert-numbers";
import { GateLink } from "./alerts";
import { AdminForm, Layout, when } from "./layout";
import { promotionHref } from "./promotion";
import { Table } from "./table";

/**
 * A delivery's last response in words: its error as recorded, which names the status already ("HTTP 500", "410 Gone:
 * endpoint disabled"); the status alone when there is no error (a 2xx); the network error when there was no response.
 */
export function lastResponse(d: Pick<Delivery, "last_status" | "last_error">): string {
  if (d.last_status === null) return d.last_error ?? "–";
  if (d.last_error === null) return `HTTP ${d.last_status}`;
  return new RegExp(`^(HTTP )?${d.last_status}\\b`, "u").test(d.last_error) ? d.last_error : `HTTP ${d.last_status}: ${d.last_error}`;
}

/**
 * The notice after an action that changed nothing because the alert was already past it (`done` is
 * "already-resolved" or "already-acknowledged", set by the dashboard's action routes); null for any other `done`.
 */
export function alertActionNotice(done: string, a: Alert): string | null {
  if (done === "already-resolved" && a.resolved_at !== null) {
    return `This alert was already resolved at ${when(a.resolved_at)} by ${a.resolved_by ?? "–"}: nothing changed.`;
  }
  if (done === "already-acknowledged" && a.acknowledged_at !== null) {
    return `This alert was already acknowledged at ${when(a.acknowledged_at)} by ${a.acknowledged_by ?? "–"}: nothing changed.`;
  }
  return null;
}

/** Acknowledge or Resolve, with an optional note bounded as the API bounds it (MAX_NOTE_LENGTH). */
function ActionForm(props: { alertId: string; action: "acknowledge" | "resolve"; csrf: string; label: string; secondary?: boolean }) {
  const noteId = `note-${props.action}`;
  return (
    <form method="post" action={`/ui/alerts/${props.alertId}/${props.action}`} class="inline action" data-action={props.action}>
      <input type="hidden" name="csrf" value={props.csrf} />
      <label for={noteId} class="muted">
        Note (optional)
      </label>
      <input id={noteId} name="note" type="text" maxlength={MAX_NOTE_LENGTH} size={24} />{" "}
      <button type="submit" class={props.secondary ? "secondary" : undefined}>
        {props.label}
      </button>
    </form>
  );
}

/** Who acknowledged and resolved the alert, when, and with which note. */
function AuditTrail(props: { alert: Alert }) {
  const a = props.alert;
  const steps = [
    { field: "acknowledged", verb: "Acknowledged", at: a.acknowledged_at, by: a.acknowledged_by, note: a.acknowledged_note },
    { field: "resolved", verb: "Resolved", at: a.resolved_at, by: a.resolved_by, note: a.resolved_note },
  ].filter((step) => step.at !== null);
  if (steps.length === 0) return null;
  return (
    <ul class="audit" data-field="audit">
      {steps.map((step) => (
        <li data-step={step.field}>
          {step.verb} at {when(step.at)} by {step.by ?? "–"}
          {step.note !== null && (
            <>
              {": "}
              <span data-field={`${step.field}-note`}>{step.note}</span>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

/**
 * What the occurrences table holds: "Newest first" when it is every occurrence; otherwise which numbers of how many
 * (the newest occurrence's number is how many are stored), so a page never reads as the whole.
 */
function occurrencesCaption(v: AlertView): string {
  if (v.olderOccurrences === null && !v.laterPage) return "Newest first";
  const first = v.occurrences[0];
  const last = v.occurrences[v.occurrences.length - 1];
  if (first === undefined || last === undefined) return "No older occurrences";
  return `Occurrences ${first.number} to ${last.number} of ${v.latest?.number ?? first.number}, newest first`;
}

/** The gate page's section of the promotion a promotion alert names (its latest occurrence's, else its first's). */
function promotionOf(first: unknown, latest: unknown, gateId: string, gateExists: boolean): { href: string; id: string } | undefined {
  const id = typeof latest === "string" ? latest : typeof first === "string" ? first : undefined;
  return id === undefined || !gateExists ? undefined : { id, href: promotionHref(gateId, id) };
}

/** Whether a pending delivery of a later event waits for the alert's alert.opened to the same endpoint, pending too. */
function heldByOpening(
  d: Pick<Delivery, "event_type" | "endpoint_id">,
  all: readonly Pick<Delivery, "event_type" | "endpoint_id" | "status">[],
): boolean {
  return (
    d.event_type !== "alert.opened" && all.some((o) => o.event_type === "alert.opened" && o.endpoint_id === d.endpoint_id && o.status === "pending")
  );
}

/**
 * An unresolved drift alert whose calibration the gate no longer serves (a rollback or a new calibration since): its
 * numbers are that calibration's traffic, and on-call must not read them as what the gate does now.
 */
function NotServedNotice(props: { alert: Pick<Alert, "kind" | "status" | "calibration_ids">; served: AlertView["served"] }) {
  const { alert: a, served } = props;
  const watched = a.calibration_ids[0];
  if (
    !WATCHES_ONE_CALIBRATION.has(a.kind) ||
    a.status === "resolved" ||
    served === null ||
    watched === undefined ||
    served.calibration_id === watched
  )
    return null;
  return (
    <p class="notice" data-field="not-served">
      Its calibration <code>{watched}</code> is no longer served: the gate serves {served.index_version} (<code>{served.calibration_id}</code>) now.
      These numbers are of the traffic the old calibration gated; the gate page shows the served one's window.
    </p>
  );
}

export function AlertPage(props: { view: AlertView; principal: Principal; csrf: string; flash: string | null }) {
  const a = props.view.alert;
  const admin = grants(props.principal.scope, "admin");
  // The latest occurrence's numbers (the alert itself keeps its first); alerts stored before occurrences had none.
  const latest: Pick<AlertOccurrence, "summary" | "details" | "seen_at"> = props.view.latest ?? {
    summary: a.summary,
    details: a.details,
    seen_at: a.last_seen_at,
  };
  // Occurrences numbered 1..N within the alert as the API numbers them (seq is a counter shared by every alert).
  const numbered = props.view.occurrences.map((o) => ({ o, n: o.number }));
  const laidOut = numbersByMeaning(a.kind, latest.details, {
    shift: { alert: a, served: props.view.served, occurrenceCalibrationIds: props.view.latest?.calibration_ids },
    suggestions: props.view.suggestions,
    // the alert keeps its first occurrence's details
    first: a.details,
  });
  return (
    <Layout title={`Alert ${a.kind}`} principal={props.principal} csrf={props.csrf} current="alerts">
      <p>
        <a href="/ui/alerts">All alerts</a> · <GateLink alert={a} exists={props.view.gateExists} prefix="gate " />
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
      <p class="lead" data-field="summary">
        {unitsJoined(latest.summary)}
      </p>
      <p class="muted">
        {a.occurrences === 1 ? "Seen once" : `Seen ${a.occurrences} times`}, first at {when(a.first_seen_at)}, last at {when(a.last_seen_at)}.
      </p>
      <NotServedNotice alert={a} served={props.view.served} />
      <AlertGuidance
        kind={a.kind}
        resolved={a.status === "resolved"}
        promotion={promotionOf(a.details.promotion_id, latest.details.promotion_id, a.gate_id, props.view.gateExists)}
      />
      <AuditTrail alert={a} />
      {admin ? (
        a.status !== "resolved" && (
          <div class="actions">
            {a.status === "open" && <ActionForm alertId={a.id} action="acknowledge" csrf={props.csrf} label="Acknowledge" />}
            <ActionForm alertId={a.id} action="resolve" csrf={props.csrf} label="Resolve" secondary />
          </div>
        )
      ) : (
        <p class="muted">Acknowledging and resolving need an admin token.</p>
      )}
      <h2 id="latest">Latest occurrence ({when(latest.seen_at)})</h2>
      {laidOut === null ? (
        <RawNumbers details={latest.details} />
      ) : (
        <>
          {laidOut}
          <details>
            <summary>Every number of the latest occurrence</summary>
            <RawNumbers details={latest.details} />
          </details>
        </>
      )}

      <h2 id="occurrences">Occurrences ({a.occurrences})</h2>
      <Table
        name="occurrences"
        caption={occurrencesCaption(props.view)}
        captionClass="muted"
        rows={numbered}
        rowAttrs={({ o }) => ({ "data-occurrence": String(o.seq) })}
        columns={[
          { header: "Occurrence", num: true, cell: ({ n }) => n },
          { header: "Seen", cell: ({ o }) => when(o.seen_at) },
          { header: "Summary", cell: ({ o }) => unitsJoined(o.summary) },
        ]}
      />
      {(props.view.olderOccurrences !== null || props.view.laterPage) && (
        <nav class="ranges" aria-label="Occurrence pages" data-field="occurrence-pages">
          {props.view.laterPage && <a href={`/ui/alerts/${a.id}#occurrences`}>Newest occurrences</a>}
          {props.view.laterPage && props.view.olderOccurrences !== null && " · "}
          {props.view.olderOccurrences !== null && (
            <a href={`/ui/alerts/${a.id}?cursor=${props.view.olderOccurrences}#occurrences`} rel="next" data-field="older-occurrences">
              Older occurrences
            </a>
          )}
        </nav>
      )}

      <h2 id="deliveries">Webhook deliveries</h2>
      {props.view.deliveries === null ? (
        <p class="muted" data-field="deliveries-hidden">
          Webhook deliveries need an admin token, as in the API (GET /v1/webhooks/deliveries).
        </p>
      ) : props.view.deliveries.items.length === 0 ? (
        <p>No webhook deliveries for this alert (no endpoint was enabled when it was raised).</p>
      ) : (
        <Table
          name="deliveries"
          caption={props.view.deliveries.more ? `The newest ${props.view.deliveries.items.length}` : "Newest first"}
          captionClass="muted"
          rows={props.view.deliveries.items}
          rowAttrs={(d) => ({ "data-delivery": d.id })}
          columns={[
            { header: "Event", cell: (d) => d.event_type },
            {
              header: "Endpoint",
              cell: (d) => {
                const host = props.view.deliveries?.receivers.get(d.endpoint_id);
                return (
                  <>
                    <code>{d.endpoint_id}</code>
                    {host ? ` (${host})` : ""}
                  </>
                );
              },
            },
            { header: "Status", cell: (d) => <span class={`badge ${d.status}`}>{d.status}</span> },
            { header: "Attempts", num: true, cell: (d) => d.attempts },
            {
              header: "Last response",
              cell: lastResponse,
            },
            {
              header: "Next attempt",
              // An alert.resolved or alert.repeated waits while its alert.opened to the same endpoint is pending (the sender keeps an
              // alert's events in order: src/webhooks/d1-store.ts claimNext): held, not overdue. Any other pending
              // delivery whose time has passed waits for the next cron tick (or a run behind others).
              cell: (d) =>
                d.status === "pending" && heldByOpening(d, props.view.deliveries?.items ?? [])
                  ? `${when(d.next_attempt_at)} (waits for alert.opened to this endpoint)`
                  : d.status === "pending" && d.next_attempt_at !== null && Date.parse(d.next_attempt_at) < (props.view.deliveries?.now ?? 0)
                    ? `${when(d.next_attempt_at)} (overdue)`
                    : when(d.next_attempt_at),
            },
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
