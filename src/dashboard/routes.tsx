/**
 * The dashboard under /ui (the API reference at /docs is src/reference/docs.ts). Pages are server-rendered (hono/jsx) from the feature
 * services (./data/); admin actions call the same services as the API routes, so a button and a curl command do
 * exactly the same thing. None of these paths are API operations: they are not in the route table
 * (src/contract/routes.ts) nor in the OpenAPI document.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { actOnAlert } from "../alerts/lifecycle";
import { activate } from "../calibrations/activation";
import { ActivateBody, AlertAction, type AlertKind, type AlertStatus, DEFAULT_INDEX, MAX_NOTE_LENGTH } from "../contract";
import { monitorSeries, seriesCsv } from "../monitoring/series-report";
import { AppError, httpStatus } from "../platform/errors";
import { decodeUtf8, readBodyBytes } from "../platform/http/body";
import { validate } from "../platform/http/validate";
import { gateIdOf } from "../platform/ids";
import { replayDelivery } from "../webhooks/delivery";
import { alertList, alertView, gatesWithoutPage } from "./data/alerts";
import { DEFAULT_SERIES_RANGE, gateView, rangeStart, seriesRangeOf } from "./data/gate";
import { overview } from "./data/overview";
import { AlertPage, alertActionNotice } from "./pages/alert";
import { ALERT_KINDS, ALERT_STATUSES, AlertsPage } from "./pages/alerts";
import { GatePage } from "./pages/gate";
import { Layout } from "./pages/layout";
import { LoginPage } from "./pages/login";
import { OverviewPage } from "./pages/overview";
import {
  type DashboardBindings,
  endSession,
  refuseCrossSite,
  requireAdminPost,
  requireSession,
  SessionEndedError,
  safeNext,
  signIn,
} from "./session";
import { STYLESHEET } from "./style";

/** Pages load only what the Worker serves: no inline scripts, styles from /ui/style.css, forms post to /ui. */
const CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Longest form body read (a token, a reason or a note, a CSRF token): a note of MAX_NOTE_LENGTH characters (code points,
 * as the API counts them) is at most 12 bytes a character percent-encoded (4 UTF-8 bytes), with 2 KiB for the other
 * fields: a note the API takes is never refused as too large a form.
 */
const MAX_FORM_BYTES = 12 * MAX_NOTE_LENGTH + 2 * 1024;

const FLASH: Record<string, string> = {
  activated: "Activated: the gate now serves this calibration (GET /v1/threshold agrees).",
  "activated-drop-rate-changed":
    "Activated: the gate now serves this calibration, and it drops a different share of candidates than the one it replaced, beyond the shift tolerance (drop_rate_changed): compare their expected drop rates in the history below.",
  "already-current": "Nothing changed: the gate already serves this calibration.",
  acknowledged: "Acknowledged.",
  resolved: "Resolved.",
  replayed: "Delivery queued again.",
  "other-cursor":
    "That page of occurrences is not one of this alert's (a link from another alert's page, or an edited address): these are its newest.",
  "other-list-cursor":
    "That page is not one of this list's (a link made for other filters, or an edited address): this is the first page of these filters.",
};

/**
 * `read`'s page, or null when a `cursor` from an address a person followed or edited is not one the listing made
 * (platform/http/cursor.ts seqOfCursor): the page then leads to the listing's first page, saying so, rather than the
 * API's 400 (the API keeps it: a client passing cursors back must hear that it mixed them up).
 */
function unlessOtherCursor<T>(cursor: string | undefined, read: Promise<T>): Promise<T | null> {
  return read.catch((e: unknown) => {
    const refused = e instanceof AppError && e.code === "bad_request" && Array.isArray(e.details) && e.details.some((d) => d.path === "cursor");
    if (cursor !== undefined && refused) return null;
    throw e;
  });
}

export const dashboardRoutes = new Hono<DashboardBindings>();

dashboardRoutes.use("/ui/*", async (c, next) => {
  await next();
  c.header("Content-Security-Policy", CSP);
  c.header("X-Content-Type-Options", "nosniff");
  c.header("Referrer-Policy", "same-origin");
  if (c.res.headers.get("content-type")?.startsWith("text/html")) c.header("Cache-Control", "no-store");
});
dashboardRoutes.use("/ui", async (c, next) => {
  await next();
  c.header("Content-Security-Policy", CSP);
  c.header("Cache-Control", "no-store");
});

async function readForm(c: Context<DashboardBindings>): Promise<FormData> {
  const type = c.req.header("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) {
    throw new AppError("unsupported_media_type", "send the form as application/x-www-form-urlencoded");
  }
  // Bytes are counted while reading (Content-Length is not trusted), as for every API body.
  const text = decodeUtf8(await readBodyBytes(c.req.raw, MAX_FORM_BYTES));
  const form = new FormData();
  for (const [k, v] of new URLSearchParams(text)) form.append(k, v);
  return form;
}

const field = (form: FormData, name: string): string | undefined => {
  const v = form.get(name);
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
};

/**
 * The page a form was posted from (its Referer: the pages send it to this origin only), when it is a /ui path of this
 * origin; null otherwise. An error page after a form (a CSRF token gone stale after a new sign-in) links back there.
 */
function formPage(c: Context<DashboardBindings>): string | null {
  const referer = c.req.method === "POST" ? c.req.header("referer") : undefined;
  if (referer === undefined || !URL.canParse(referer)) return null;
  const from = new URL(referer);
  if (from.origin !== new URL(c.req.url).origin || !(from.pathname === "/ui" || from.pathname.startsWith("/ui/"))) return null;
  return safeNext(from.pathname + from.search);
}

function errorPage(c: Context<DashboardBindings>, err: AppError) {
  const status = httpStatus(err.code);
  const back = formPage(c);
  return c.html(
    <Layout title="Error" principal={null} csrf="">
      <h1>{status === 404 ? "Not found" : status === 403 ? "Not allowed" : "Something went wrong"}</h1>
      <p class="error" role="alert">
        {err.message}
      </p>
      <p>
        {back !== null && (
          <>
            <a href={back} data-field="back">
              Back to the page you were on
            </a>
            {" · "}
          </>
        )}
        <a href="/ui">Back to the gates</a>
      </p>
    </Layout>,
    status as 400,
  );
}

/** The text fields a person types into the dashboard's forms (an alert's note, an activation's reason). */
const TYPED_FIELDS = ["note", "reason"] as const;

/**
 * A form posted after its session ended (expired, signed out, or the token or the secret rotated): nothing was done;
 * the page says so, links the login with the form's page as `next` (it returns there), and shows the note or reason
 * the person typed so it can be copied, not lost.
 */
async function sessionEndedPage(c: Context<DashboardBindings>) {
  const back = formPage(c) ?? "/ui";
  let typed: { name: string; text: string }[] = [];
  try {
    const form = await readForm(c);
    typed = TYPED_FIELDS.flatMap((name) => {
      const text = field(form, name);
      return text === undefined ? [] : [{ name, text }];
    });
  } catch {
    // not a form the dashboard sends, or too large: there is nothing to show
  }
  return c.html(
    <Layout title="Session expired" principal={null} csrf="">
      <h1>Your session expired</h1>
      <p class="error" role="alert" data-field="session-ended">
        Your session expired or was signed out before this form was sent, so nothing was changed.
      </p>
      {typed.map((t) => (
        <div class="panel" data-field={`typed-${t.name}`}>
          <div class="muted">The {t.name} you typed (copy it: the form after signing in is empty)</div>
          <p>{t.text}</p>
        </div>
      ))}
      <p>
        <a href={`/ui/login?next=${encodeURIComponent(back)}`} data-field="sign-in">
          Sign in again
        </a>{" "}
        to return to the page you were on and send the form again.
      </p>
    </Layout>,
    401,
  );
}

dashboardRoutes.onError((err, c) => {
  if (err instanceof SessionEndedError) return sessionEndedPage(c);
  if (err instanceof AppError) return errorPage(c, err);
  console.error("unhandled dashboard error", err);
  return errorPage(c, new AppError("internal", "internal error"));
});

dashboardRoutes.get("/ui/style.css", (c) => {
  c.header("Content-Type", "text/css; charset=utf-8");
  c.header("Cache-Control", "public, max-age=300");
  return c.body(STYLESHEET);
});

dashboardRoutes.get("/ui/login", (c) =>
  c.html(<LoginPage next={safeNext(c.req.query("next"))} error={null} development={c.env.ENVIRONMENT === "development"} />),
);

dashboardRoutes.post("/ui/login", async (c) => {
  refuseCrossSite(c);
  const form = await readForm(c);
  const next = safeNext(field(form, "next"));
  const outcome = await signIn(c, field(form, "token"));
  if (outcome.ok) return c.redirect(next, 303);
  if (outcome.status === 429) c.header("Retry-After", String(outcome.retryAfterS));
  return c.html(<LoginPage next={next} error={outcome.message} development={c.env.ENVIRONMENT === "development"} />, outcome.status);
});

dashboardRoutes.post("/ui/logout", requireSession, async (c) => {
  refuseCrossSite(c);
  await endSession(c);
  return c.redirect("/ui/login", 303);
});

/** A page number from the query: a whole number from 1 (anything else is page 1; past the last, the last). */
const pageOf = (raw: string | undefined): number => (raw !== undefined && /^[1-9][0-9]{0,5}$/u.test(raw) ? Number(raw) : 1);

dashboardRoutes.get("/ui", requireSession, async (c) => {
  const index = c.req.query("index") || undefined;
  const view = await overview(c.get("deps"), index, pageOf(c.req.query("page")));
  return c.html(<OverviewPage view={view} index={index} principal={c.get("principal")} csrf={c.get("csrf")} />);
});

dashboardRoutes.get("/ui/gates/:gateId", requireSession, async (c) => {
  const gateId = c.req.param("gateId");
  // No range asked for (or an unknown one): gateView picks the default, narrowed to a day for a gate with less data.
  // A promotion a link named (?promotion=, promotionHref): its timeline even when older than the newest shown.
  const view = await gateView(gateId, c.get("deps"), seriesRangeOf(c.req.query("range")), c.req.query("promotion")?.trim() || undefined);
  const xRaw = c.req.query("x");
  const x = xRaw === undefined || xRaw.trim() === "" ? null : Number(xRaw);
  return c.html(
    <GatePage
      view={view}
      q={{
        view: c.req.query("view") === "histogram" ? "histogram" : "ecdf",
        xRaw,
        x: x !== null && Number.isFinite(x) ? x : null,
        range: view.range,
        flash: FLASH[c.req.query("done") ?? ""] ?? null,
      }}
      principal={c.get("principal")}
      csrf={c.get("csrf")}
      path={`/ui/gates/${gateId}`}
    />,
  );
});

/** The gate page's hours as CSV: what GET /v1/monitor/series?format=csv answers a read token. */
dashboardRoutes.get("/ui/gates/:gateId/series.csv", requireSession, async (c) => {
  const deps = c.get("deps");
  const gate = await deps.calibrations.gate(c.req.param("gateId"));
  if (gate === null) throw new AppError("not_found", "no such gate");
  // The page links the range it shows; none named (or an unknown one): the default range.
  const to = deps.now();
  const from = rangeStart(seriesRangeOf(c.req.query("range")) ?? DEFAULT_SERIES_RANGE, to);
  const series = await monitorSeries({ ...gate, from, to: to.toISOString() }, deps);
  c.header("Content-Type", "text/csv; charset=utf-8");
  c.header("Content-Disposition", `attachment; filename="scoregate-series-${series.gate_id}.csv"`);
  return c.body(seriesCsv(series.buckets));
});

dashboardRoutes.post("/ui/gates/:gateId/activate", requireSession, async (c) => {
  const form = await readForm(c);
  const principal = await requireAdminPost(c, form);
  const gateId = c.req.param("gateId");
  const id = field(form, "calibration_id");
  const deps = c.get("deps");
  const calibration = id === undefined ? null : await deps.calibrations.get(id);
  if (calibration === null || calibration.gate_id !== gateId) throw new AppError("not_found", "no such calibration on this gate");
  // the reason as the API takes it (ActivateBody): too long, or not text the audit log can keep, is refused in the API's
  // words, never cut (a cut could split a character and store the half)
  const { reason } = validate(ActivateBody, { reason: field(form, "reason") }, "bad_request", "activation");
  const result = await activate(calibration.id, principal.name, reason ?? null, deps);
  const changed = result.warnings.some((w) => w.code === "drop_rate_changed");
  const done = result.alreadyCurrent ? "already-current" : changed ? "activated-drop-rate-changed" : "activated";
  // to the notice (top of the page): the outcome is on screen where the browser lands, the history just below the cards
  return c.redirect(`/ui/gates/${gateId}?done=${done}#notice`, 303);
});

/**
 * What the alerts page says of a filter value it does not know (a hand-edited address: `?kind=bogus`, `?status=opened`):
 * the list shows every value of that filter, and the notice says so with the values there are, where the API answers
 * 400. Null when every given value is known.
 */
function unknownFilterNotice(kind: string | undefined, status: string | undefined): string | null {
  const known = (value: string | undefined, values: readonly string[]) => value === undefined || value === "" || values.includes(value);
  const unknown = [
    { name: "status", value: status, values: ALERT_STATUSES },
    { name: "kind", value: kind, values: ALERT_KINDS },
  ].filter((f) => !known(f.value, f.values));
  if (unknown.length === 0) return null;
  const said = unknown.map((f) => `${f.name} "${f.value}" is not one (${f.values.join(", ")})`);
  return `Filter ignored: ${said.join("; ")}. Alerts of every ${unknown.map((f) => f.name).join(" and ")} are shown.`;
}

dashboardRoutes.get("/ui/alerts", requireSession, async (c) => {
  const kind = (ALERT_KINDS as readonly string[]).includes(c.req.query("kind") ?? "") ? (c.req.query("kind") as AlertKind) : undefined;
  const status = (ALERT_STATUSES as readonly string[]).includes(c.req.query("status") ?? "") ? (c.req.query("status") as AlertStatus) : undefined;
  const ignored = unknownFilterNotice(c.req.query("kind"), c.req.query("status"));
  const index = c.req.query("index")?.trim() || undefined;
  const gateId = c.req.query("gate_id")?.trim() || undefined;
  const cursor = c.req.query("cursor") || undefined;
  // A page address made for other filters, or edited: the first page of these filters.
  const list = await unlessOtherCursor(cursor, alertList({ kind, status, index, gate_id: gateId }, cursor, c.get("deps")));
  if (list === null) {
    const filters = Object.entries({ status, kind, index, gate_id: gateId }).filter(([, v]) => v !== undefined) as [string, string][];
    return c.redirect(`/ui/alerts?${new URLSearchParams([...filters, ["done", "other-list-cursor"]])}`, 303);
  }
  const noPage = await gatesWithoutPage(list.alerts, c.get("deps"));
  return c.html(
    <AlertsPage
      list={list}
      gatesWithoutPage={noPage}
      filter={{ kind, status, index, gateId }}
      firstPage={cursor === undefined}
      principal={c.get("principal")}
      csrf={c.get("csrf")}
      flash={FLASH[c.req.query("done") ?? ""] ?? ignored}
    />,
  );
});

dashboardRoutes.get("/ui/alerts/:id", requireSession, async (c) => {
  const id = c.req.param("id");
  const cursor = c.req.query("cursor") || undefined;
  // A page address followed from another alert, or edited: the alert's newest occurrences.
  const view = await unlessOtherCursor(cursor, alertView(id, c.get("principal"), c.get("deps"), cursor));
  if (view === null) return c.redirect(`/ui/alerts/${encodeURIComponent(id)}?done=other-cursor`, 303);
  const done = c.req.query("done") ?? "";
  const flash = FLASH[done] ?? alertActionNotice(done, view.alert);
  return c.html(<AlertPage view={view} principal={c.get("principal")} csrf={c.get("csrf")} flash={flash} />);
});

/** The optional note of an acknowledge or resolve form, checked as the API checks it (AlertAction: MAX_NOTE_LENGTH). */
function noteOf(form: FormData): string | null {
  return validate(AlertAction, { note: field(form, "note") }, "bad_request", "note").note ?? null;
}

for (const action of ["acknowledge", "resolve"] as const) {
  dashboardRoutes.post(`/ui/alerts/:id/${action}`, requireSession, async (c) => {
    const form = await readForm(c);
    const principal = await requireAdminPost(c, form);
    const id = c.req.param("id");
    const { alert, changed } = await actOnAlert(action, id, principal.name, noteOf(form), c.get("deps"));
    // On a stale page (resolved meanwhile) nothing changes and the alert page says who did it and when.
    const done = changed ? (action === "acknowledge" ? "acknowledged" : "resolved") : `already-${alert.status}`;
    return c.redirect(`/ui/alerts/${id}?done=${done}`, 303);
  });
}

dashboardRoutes.post("/ui/deliveries/:id/replay", requireSession, async (c) => {
  const form = await readForm(c);
  await requireAdminPost(c, form);
  const d = await replayDelivery(c.req.param("id"), c.get("deps"));
  return c.redirect(`/ui/alerts/${d.alert_id}?done=replayed`, 303);
});

/** A gate page by its fields, for links from elsewhere: /ui/gate?index=&embedding=&reranker=. */
dashboardRoutes.get("/ui/gate", requireSession, async (c) => {
  const { index, embedding, reranker } = c.req.query();
  if (!embedding || !reranker) throw new AppError("bad_request", "name the gate with embedding and reranker (and optionally index)");
  return c.redirect(`/ui/gates/${await gateIdOf({ index: index || DEFAULT_INDEX, embedding, reranker })}`, 302);
});
