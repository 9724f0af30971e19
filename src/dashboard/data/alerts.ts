/**
 * The alerts as the dashboard lists and shows them: the alert list's pages (GET /v1/alerts's cursors), the urgency
 * order of an overview row's alerts, and an alert page's occurrences and webhook deliveries. Read through the alert
 * lifecycle and the delivery log, typed by the contract: no storage access of its own. What a page shows a session is
 * what the API shows a token of the same scope: deliveries (which the API keeps from read tokens) are read only for
 * sessions whose scope the route table grants them.
 */
import { listAlertsPage, occurrencesPageOf } from "../../alerts/lifecycle";
import { listGates } from "../../calibrations/registry";
import {
  type Alert,
  type AlertKind,
  type AlertOccurrence,
  type AlertStatus,
  type Delivery,
  DRIFT_ALERT_KINDS,
  MAX_WEBHOOK_ENDPOINTS,
  ROUTES,
} from "../../contract";
import { grants, type Principal } from "../../platform/auth";
import { AppError } from "../../platform/errors";
import { shownId } from "../../platform/format";
import { listDeliveries } from "../../webhooks/delivery";
import { listEndpoints } from "../../webhooks/endpoints";
import type { DashboardDeps } from "../deps";
import { type SuggestedGate, suggestionsOf } from "./uncalibrated";

/** Occurrences per page of an alert page, newest first; the page links to older ones with the API's cursors. */
export const ALERT_PAGE_OCCURRENCES = 50;

/**
 * Deliveries listed on an alert page: every one an alert can have (one per endpoint for each of its two events, its
 * opening and its resolution, to at most MAX_WEBHOOK_ENDPOINTS endpoints each time).
 */
export const ALERT_PAGE_DELIVERIES = 2 * MAX_WEBHOOK_ENDPOINTS;

/**
 * Alerts per page of the alert list (/ui/alerts) and on a gate page. The lists are in the store's "urgency" order (open,
 * then acknowledged, then resolved; newest first within each) and page with GET /v1/alerts's cursors, so every alert
 * is reachable and an old open alert is never pushed out by newer ones. A gate has at most one unresolved alert per
 * kind, so its page lists all of its unresolved alerts on the first page.
 */
export const ALERT_LIST_PAGE_SIZE = 50;

/** A page of alerts as the dashboard lists them, and the cursor of the next page (null on the last). */
export interface AlertListView {
  readonly alerts: Alert[];
  readonly next_cursor: string | null;
}

/** One page of the alerts that match, most urgent first (see ALERT_LIST_PAGE_SIZE); a cursor it did not make is a 400. */
export async function alertList(
  filter: { gate_id?: string | undefined; index?: string | undefined; kind?: AlertKind | undefined; status?: AlertStatus | undefined },
  cursor: string | undefined,
  deps: DashboardDeps,
): Promise<AlertListView> {
  return listAlertsPage({ ...filter, limit: ALERT_LIST_PAGE_SIZE, order: "urgency" }, cursor, deps);
}

/**
 * The gates of the listed alerts that have no gate page: an uncalibrated_request is raised for whatever a service asked
 * for, a misspelt index included, which no gate row names (its page would be a 404). Other kinds are raised for gates
 * with calibrations. One read of a gate row per distinct gate of the uncalibrated_request alerts listed.
 */
export async function gatesWithoutPage(alerts: readonly Pick<Alert, "kind" | "gate_id">[], deps: DashboardDeps): Promise<Set<string>> {
  const asked = [...new Set(alerts.filter((a) => a.kind === "uncalibrated_request").map((a) => a.gate_id))];
  const rows = await Promise.all(asked.map(async (id) => ({ id, row: await deps.calibrations.gate(id) })));
  return new Set(rows.filter((r) => r.row === null).map((r) => r.id));
}

const SEVERITY: Record<AlertStatus, number> = { open: 0, acknowledged: 1, resolved: 2 };
const KIND_WEIGHT: Record<AlertKind, number> = {
  rebuild_shift: 0,
  drop_rate_drift: 0,
  empty_context: 1,
  uncalibrated_request: 2,
  recall_drift: 3,
  abstention_drift: 1,
  unscored_candidates: 1,
  promotion_paused: 0,
  promotion_rolled_back: 0,
};

/** Most urgent first: open before acknowledged before resolved, drift and shifts before the rest, newest first. */
export function byUrgency(a: Alert, b: Alert): number {
  return SEVERITY[a.status] - SEVERITY[b.status] || KIND_WEIGHT[a.kind] - KIND_WEIGHT[b.kind] || b.last_seen_at.localeCompare(a.last_seen_at);
}

export interface AlertView {
  readonly alert: Alert;
  /** The newest occurrence (what the page leads with, on every page of occurrences); null for an alert without any. */
  readonly latest: AlertOccurrence | null;
  /** A page of occurrences, newest first, at most ALERT_PAGE_OCCURRENCES: the newest, or those from `cursor` on. */
  readonly occurrences: AlertOccurrence[];
  /** The cursor of the page of older occurrences; null when this page holds the oldest. */
  readonly olderOccurrences: string | null;
  /** Whether this page of occurrences was reached through a cursor (it is not the newest). */
  readonly laterPage: boolean;
  /**
   * The alert's webhook deliveries, newest first, and whether it has more than ALERT_PAGE_DELIVERIES (by
   * construction it has not); null when the session's scope may not read deliveries (the API's rule).
   */
  readonly deliveries: {
    readonly items: Delivery[];
    readonly more: boolean;
    /** Each endpoint's receiver (its URL's host, and its description), by endpoint id: a delivery names its receiver, not only whk_… */
    readonly receivers: ReadonlyMap<string, string>;
    /** When the page was read (epoch ms): a pending delivery whose next attempt is past it is overdue. */
    readonly now: number;
  } | null;
  /**
   * What the alert's gate serves now (its current calibration), so the page can tell it from what was served when
   * the alert was raised; null when the gate serves nothing or its listing could not be read.
   */
  readonly served: ServedNow | null;
  /**
   * The calibrated gates of similar names the latest occurrence's details suggest (`suggestions`, an
   * uncalibrated_request alert's), with their gate ids; none for other kinds or without the field.
   */
  readonly suggestions: readonly SuggestedGate[];
  /** Whether the alert's gate has a page: false for an uncalibrated_request of a name no gate has (gatesWithoutPage). */
  readonly gateExists: boolean;
}

/** A gate's current calibration as the alert page names it. */
export interface ServedNow {
  readonly calibration_id: string;
  readonly index_version: string;
  readonly threshold: number | null;
}

/** The alert kinds raised on one calibration's production traffic (its calibration_ids: that calibration). */
export const WATCHES_ONE_CALIBRATION: ReadonlySet<Alert["kind"]> = new Set([...DRIFT_ALERT_KINDS, "unscored_candidates"]);

/** The gate's current calibration, from the gate listing the overview reads too. */
async function servedNow(gateId: string, deps: DashboardDeps): Promise<ServedNow | null> {
  const gate = (await listGates(deps)).find((g) => g.gate_id === gateId);
  const current = gate?.active.find((a) => a.calibration_id === gate.current_calibration_id);
  return current === undefined
    ? null
    : { calibration_id: current.calibration_id, index_version: current.index_version, threshold: current.threshold };
}

/**
 * An alert page: the alert, a page of its occurrences (the newest, or from `cursor` on: GET
 * /v1/alerts/{id}/occurrences's cursors, so a cursor it did not make is a 400) and, for a session that may read them,
 * all its webhook deliveries.
 */
/** A receiver's URL as the page names it: its host (the path may hold a secret, as a Slack webhook URL's does). */
const hostOf = (url: string): string => (URL.canParse(url) ? new URL(url).host : "");

export async function alertView(id: string, principal: Principal, deps: DashboardDeps, cursor?: string): Promise<AlertView> {
  const alert = await deps.alerts.get(id);
  if (alert === null) throw new AppError("not_found", `alert ${shownId(id)} does not exist`);
  // The same scope as GET /v1/webhooks/deliveries: a read session sees no endpoint ids and no receivers' errors.
  const mayReadDeliveries = grants(principal.scope, ROUTES.listDeliveries.scope);
  const [page, newest, deliveries, endpoints, served, noPage] = await Promise.all([
    occurrencesPageOf(id, ALERT_PAGE_OCCURRENCES, cursor, deps),
    // a page of older occurrences still leads with the newest
    cursor === undefined ? null : deps.alerts.occurrences(id, 1),
    mayReadDeliveries ? listDeliveries({ alert_id: id, limit: ALERT_PAGE_DELIVERIES }, undefined, deps) : null,
    // the page stands without the receivers' names (a delivery then names its endpoint id only)
    mayReadDeliveries ? listEndpoints(deps).catch(() => []) : [],
    // a rebuild_shift alert's page names what is served now, and a drift alert's whether its calibration still is;
    // the page stands without it
    alert.kind === "rebuild_shift" || (WATCHES_ONE_CALIBRATION.has(alert.kind) && alert.status !== "resolved")
      ? servedNow(alert.gate_id, deps).catch(() => null)
      : null,
    gatesWithoutPage([alert], deps),
  ]);
  const latest = (newest ?? page.occurrences)[0] ?? null;
  const suggestions = alert.kind === "uncalibrated_request" ? await suggestionsOf(latest?.details ?? alert.details) : [];
  return {
    alert,
    latest,
    occurrences: page.occurrences,
    olderOccurrences: page.next_cursor,
    laterPage: cursor !== undefined,
    deliveries:
      deliveries === null
        ? null
        : {
            items: deliveries.deliveries,
            more: deliveries.next_cursor !== null,
            // the host, and the endpoint's description when it has one: two endpoints on one host (Slack) read apart
            receivers: new Map(endpoints.map((e) => [e.id, e.description ? `${hostOf(e.url)}, ${e.description}` : hostOf(e.url)])),
            now: deps.now().getTime(),
          },
    served,
    suggestions,
    gateExists: !noPage.has(alert.gate_id),
  };
}
