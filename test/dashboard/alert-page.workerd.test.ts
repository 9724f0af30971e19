/**
 * The alert surfaces an on-call engineer reads and acts on: lists lead with the latest occurrence's summary (and say
 * when it was), the alert page numbers occurrences within the alert, labels the observed rate for what it is and names
 * the evidence as the summary does; Acknowledge and Resolve take a note; acting on an alert resolved meanwhile changes
 * nothing and says so; an error page after a form links back to the page the form was on.
 */

import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { raiseAlert, resolveAlert } from "../../src/alerts/lifecycle";
import { AlertKind, LiveDecision, MAX_NOTE_LENGTH, PromotionStopDetails, WindowStatus } from "../../src/contract";
import type { Env } from "../../src/platform/env";
import { decisionNumbers } from "../../src/promotions/arm-evidence";
import { alertDeps } from "../../src/worker/wiring";
import { liveDecisionOf as decision } from "../support/live-decisions";
import { callJson, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

const worker = (exports as unknown as { default: Fetcher }).default;
const deps = () => alertDeps(env as unknown as Env, () => undefined);

/** A drift window's status as the monitor stores it in an alert's details (the numbers the page lays out). */
function window(o: { observed: number; queries: number; evidenceQueries: number; since?: string }) {
  const rate = {
    observed: o.observed,
    expected: 0.22,
    band: { lo: 0.192, hi: 0.25 },
    log_evidence: 5.3,
    alarm: true,
    armed: true,
    not_armed_reason: null,
    evidence_since: o.since ?? "2026-12-04T20:10:00.000Z",
    evidence_queries: o.evidenceQueries,
    evidence_observed: 0.41,
  };
  return {
    calibration_id: "cal_alertpage",
    index_version: "v2",
    started_at: "2026-12-04T00:00:00.000Z",
    ends_at: "2026-12-05T00:00:00.000Z",
    batches: 10,
    queries: o.queries,
    candidates: o.queries * 20,
    dropped: Math.round(o.queries * 20 * o.observed),
    empty_queries: 0,
    design_effect: 1.4,
    log_threshold: 4.6,
    drop_rate: rate,
    empty_context: null,
    mean_candidates: 20,
    expected_mean_candidates: 20,
    candidates_per_query: { change: null, strata: [] },
    alarms: 1,
    score_sample: { size: 0, seen: 0, drop_rate_at_threshold: null, ks: null },
  };
}

/** Text as the pages escape it. */
const escaped = (s: string): string => s.replaceAll("'", "&#39;");

/** A server sentence as a page shows it: escaped, each figure joined to its unit by a non-breaking space. */
const shown = (s: string): string => escaped(s).replace(/(\d) (%|points\b)/gu, "$1\u00a0$2");

const sentence = (observed: number, queries: number) =>
  `production drop rate ${(observed * 100).toFixed(1)} % over ${queries} queries against the calibration's 22.0 % (tolerated 19.2 %..25.0 %)`;

/** Raises a drop_rate_drift alert on a fresh gate twice: 23.2 % over 650 queries, then 30.4 % over 1150. */
async function repeatedDrift(label: string) {
  const gate = uniqueGate(label);
  const raise = (observed: number, queries: number, evidenceQueries: number) =>
    raiseAlert(
      {
        gate_id: `gate-${gate.reranker}`,
        gate,
        kind: "drop_rate_drift",
        summary: sentence(observed, queries),
        details: { window: window({ observed, queries, evidenceQueries }) },
        calibration_ids: ["cal_alertpage"],
      },
      deps(),
    );
  const first = await raise(0.232, 650, 100);
  const latest = await raise(0.304, 1150, 100);
  return { gate, id: first.alert.id, latest: latest.alert };
}

async function post(path: string, cookie: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return worker.fetch(`http://scoregate.test${path}`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie, ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

const csrfOf = (html: string): string => /name="csrf" value="([0-9a-f]{64})"/u.exec(html)![1]!;

describe("when a drift began", () => {
  it("shows the first occurrence's change point on the evidence card, though the latest occurrence's restarted", async () => {
    const gate = uniqueGate("shift-began");
    const raise = (observed: number, queries: number, since: string) =>
      raiseAlert(
        {
          gate_id: `gate-${gate.reranker}`,
          gate,
          kind: "drop_rate_drift",
          summary: sentence(observed, queries),
          details: { window: window({ observed, queries, evidenceQueries: 100, since }) },
          calibration_ids: ["cal_alertpage"],
        },
        deps(),
      );
    const { alert } = await raise(0.232, 650, "2026-12-04T10:55:04.886Z");
    // the detector restarted at the first alarm: the latest occurrence's evidence accumulates from a later start
    await raise(0.304, 1150, "2026-12-04T11:20:00.000Z");
    const html = await page(`/ui/alerts/${alert.id}`, await session(TOKENS.read));
    const began = /<dt>Shift began around<\/dt><dd data-field="shift-began">([\s\S]*?)<\/dd>/u.exec(html)?.[1];
    expect(
      began
        ?.replace(/<[^>]+>/gu, " ")
        .replace(/\s+/gu, " ")
        .trim(),
    ).toBe("2026-12-04 10:55:04 UTC the first occurrence&#39;s change point: the evidence below restarts after each alarm");
    // on the evidence card, beside the latest occurrence's own start
    const evidence = html.slice(html.indexOf('data-group="evidence"'), html.indexOf("</section>", html.indexOf('data-group="evidence"')));
    expect(evidence).toContain('data-field="shift-began"');
    expect(evidence).toMatch(/<dt>Accumulating since<\/dt><dd>2026-12-04 11:20:00 UTC<\/dd>/u);
  });
});

describe("a stratified drift alert", () => {
  it("compares the window's cumulative rate with the expectation for its own queries' sizes, naming the detector's", async () => {
    const gate = uniqueGate("window-sizes");
    const base = window({ observed: 0.633, queries: 300, evidenceQueries: 120 });
    const stratified = {
      ...base,
      drop_rate: {
        ...base.drop_rate,
        expected: 0.12,
        band: { lo: 0.1, hi: 0.14 },
        strata_tested: 2,
        strata_total: 3,
        tested_share: 1,
        expected_window: 0.507,
        band_window: { lo: 0.47, hi: 0.545 },
      },
    };
    const { alert } = await raiseAlert(
      { gate_id: `gate-${gate.reranker}`, gate, kind: "drop_rate_drift", summary: "drift", details: { window: stratified }, calibration_ids: [] },
      deps(),
    );
    const html = await page(`/ui/alerts/${alert.id}`, await session(TOKENS.read));
    const expected = /<dd data-field="expected">([\s\S]*?)<\/dd>/u.exec(html)?.[1]?.replace(/<[^>]+>/gu, " ") ?? "";
    expect(expected.replace(/[ \t\r\n]+/gu, " ").trim()).toBe(
      "50.7\u00a0% for these queries&#39; sizes; the detector&#39;s own figure, for the query sizes production sent since the detector&#39;s last reset (2 of 3 size strata tested), is 12.0\u00a0%",
    );
    expect(html).toContain('<dt>Difference</dt><dd data-field="difference">+12.6\u00a0points</dd>');
    expect(html).toContain('<dd data-field="band">47.0\u00a0% to 54.5\u00a0%</dd>');
  });
});

describe("a drift alert's figures as they read", () => {
  it("takes the difference between the figures shown, writes evidence and points as the summary does, and never says null", async () => {
    const gate = uniqueGate("as-shown");
    // 59.95 % and 22.0078 %: shown as 60.0 % and 22.0 %, so the difference reads +38.0 points (not +37.9).
    const base = window({ observed: 0.5995, queries: 100, evidenceQueries: 100 });
    const w = {
      ...base,
      log_threshold: 17.5044,
      drop_rate: { ...base.drop_rate, expected: 0.220078, log_evidence: 575.779, alarmed: null },
      // a calibration uploaded as scores: no candidates per query known; it never abstains
      expected_mean_candidates: null,
      abstention: null,
      abstention_queries: 0,
      abstained_queries: 0,
    };
    const { alert } = await raiseAlert(
      { gate_id: `gate-${gate.reranker}`, gate, kind: "drop_rate_drift", summary: "drift", details: { window: w }, calibration_ids: [] },
      deps(),
    );
    const html = await page(`/ui/alerts/${alert.id}`, await session(TOKENS.read));
    expect(html).toContain('<dd data-field="observed">60.0\u00a0%');
    expect(html).toContain('<dd data-field="expected">22.0\u00a0%');
    expect(html).toContain('<dt>Difference</dt><dd data-field="difference">+38.0\u00a0points</dd>');
    expect(html).toContain('<dd data-field="evidence">575.8 (alarm at 17.5)</dd>');
    // no abstention row for a calibration that never abstains, and the calibration's unknown mean says why
    expect(html).not.toContain('data-field="abstention-queries"');
    expect(html).toContain("(calibration not known: uploaded as scores)");
    // the stored details' nulls read as "–", as the caption says
    const raw = html.slice(html.indexOf('data-table="details"'), html.indexOf("</table>", html.indexOf('data-table="details"')));
    expect(raw).toContain("<code>window.drop_rate.alarmed</code></th><td>–</td>");
    expect(html).toContain("– where it holds no value, none for an empty list");
    expect(raw).toContain("<code>window.candidates_per_query.strata</code></th><td>none</td>");
    const visible = html.replace(/<[^>]+>/gu, " ");
    for (const word of ["null", "undefined", "NaN"]) expect(visible).not.toMatch(new RegExp(`\\b${word}\\b`, "u"));
  });
});

describe("alert lists", () => {
  it("show the latest occurrence's summary, when it was and of how many, with the first one click away", async () => {
    const { gate, id, latest } = await repeatedDrift("list-latest");
    const list = await page(`/ui/alerts?index=${gate.index}`, await session(TOKENS.read));
    const row = new RegExp(`<tr[^>]*data-alert="${id}"[^>]*>([\\s\\S]*?)</tr>`, "u").exec(list)![1]!;
    expect(row).toContain(shown(sentence(0.304, 1150)));
    expect(row).toContain(`latest of 2 occurrences, ${latest.last_seen_at.replace("T", " ").replace(/\.\d+Z$/u, " UTC")}`);
    // the first occurrence stays available, folded
    expect(row).toMatch(/<details data-field="first-summary"><summary>First occurrence, [^<]+<\/summary>production drop rate 23\.2\u00a0%/u);
    expect(row.indexOf("30.4\u00a0%")).toBeLessThan(row.indexOf("23.2\u00a0%"));
    expect(row.indexOf("30.4\u00a0%")).toBeGreaterThan(-1);
  });
});

describe("the alert page", () => {
  it("says under the sentence what each kind of alert means and what to do (an uncalibrated_request, in its own layout)", async () => {
    const cookie = await session(TOKENS.read);
    const seen = new Map<string, string>();
    for (const kind of AlertKind.options) {
      const gate = uniqueGate(`guidance-${kind}`);
      const { alert } = await raiseAlert(
        { gate_id: `gate-${gate.reranker}`, gate, kind, summary: `a ${kind} occurrence`, details: {}, calibration_ids: [] },
        deps(),
      );
      const html = await page(`/ui/alerts/${alert.id}`, cookie);
      const todo = /<dt>What to do<\/dt><dd data-field="todo">([^<]+)<\/dd>/u.exec(html)?.[1];
      if (kind === "uncalibrated_request") {
        expect(html).not.toContain('data-field="guidance"');
        expect(html).toContain('<section class="panel" data-group="suggestions" aria-label="What to do">');
        continue;
      }
      expect(html, kind).toMatch(/<dl class="kv guidance" data-field="guidance"><dt>What it means<\/dt><dd data-field="means">[^<]{40,}<\/dd>/u);
      expect(todo, kind).toMatch(/^[A-Z].{40,}\.$/u);
      // right under the sentence, before the numbers
      expect(html.indexOf('data-field="guidance"'), kind).toBeLessThan(html.indexOf('id="latest"'));
      seen.set(kind, todo!);
    }
    // each kind says something of its own
    expect(new Set(seen.values()).size).toBe(seen.size);
    expect(seen.get("unscored_candidates")).toContain("score key");
  });

  it("a promotion alert links its promotion; a resolved alert says it asks for nothing, keeping what it asked", async () => {
    const cookie = await session(TOKENS.read);
    const gate = uniqueGate("guidance-resolved");
    const { alert } = await raiseAlert(
      {
        gate_id: `gate-${gate.reranker}`,
        gate,
        kind: "promotion_paused",
        summary: "promotion prm_0000000001 of cal_v2 (v2 over v1) paused in step 1 of 3 (10 % of keyed traffic): drift_alarm",
        details: { promotion_id: "prm_0000000001", step: 0, cause: "drift_alarm" },
        calibration_ids: [],
      },
      deps(),
    );
    const open = await page(`/ui/alerts/${alert.id}`, cookie);
    const todo = (html: string) => /<dd data-field="todo">([\s\S]*?)<\/dd>/u.exec(html)?.[1] ?? "";
    expect(todo(open)).toMatch(/^Read the step&#39;s numbers/u);
    expect(todo(open)).toContain(
      `The promotion: <a href="/ui/gates/gate-${gate.reranker}?promotion=prm_0000000001#promotion-prm_0000000001">prm_0000000001</a> on the gate page.`,
    );
    await resolveAlert(alert.id, "alice", "promotion prm_0000000001 was rolled back by alice: it has ended", deps());
    const resolved = await page(`/ui/alerts/${alert.id}`, cookie);
    expect(todo(resolved)).toMatch(
      /^Nothing: the alert is resolved \(below, by whom and why\)\. While it was open it asked: Read the step&#39;s numbers/u,
    );
  });

  it("numbers occurrences 1..N within the alert and labels the observed rate as the window's cumulative one", async () => {
    const { id } = await repeatedDrift("page-numbers");
    // another alert's occurrence in between: the shared counter moves on
    await repeatedDrift("page-numbers-other");
    const alertPage = await page(`/ui/alerts/${id}`, await session(TOKENS.read));
    const table = /<table[^>]*data-table="occurrences"[\s\S]*?<\/table>/u.exec(alertPage)?.[0] ?? alertPage;
    const numbers = [...table.matchAll(/<tr data-occurrence="\d+"><td class="num">(\d+)<\/td>/gu)].map((m) => Number(m[1]));
    expect(numbers).toEqual([2, 1]);
    expect(table).toContain('<th scope="col" class="num">Occurrence</th>');
    expect(alertPage).toContain("<dt>Observed (cumulative)</dt>");
    expect(alertPage).toMatch(/data-field="observed-scope">the window&#39;s 1,150 queries since it opened at 2026-12-04 00:00:00 UTC/u);
    expect(alertPage).toMatch(/<dt>Over the latest<\/dt><dd data-field="evidence-queries">100 queries<\/dd>/u);
    // and the rate over those queries, which the cumulative one hides
    expect(alertPage).toMatch(/<dt>Observed over them<\/dt><dd data-field="evidence-observed">41.0\u00a0%<\/dd>/u);
    expect(alertPage).toContain("<dt>ln R</dt>");
    // the cards grow with their content instead of breaking numbers mid-word
    expect(alertPage).toContain('<div class="cards">');
    const css = await (await worker.fetch("http://scoregate.test/ui/style.css")).text();
    expect(css).toMatch(/\.cards > \.panel \{ flex: 1 1 auto;/u);
    expect(css).toMatch(/\.cards dl\.kv dd \{ overflow-wrap: break-word; \}/u);
  });

  it("labels a min_keep gate's empty_context alert by what was tested: where the guard bound, not empty queries", async () => {
    const gate = uniqueGate("guard-bound");
    const base = window({ observed: 0.22, queries: 400, evidenceQueries: 120 });
    const guard = { ...base.drop_rate, observed: 0.075, expected: 0.03, band: { lo: 0, hi: 0.05 }, evidence_observed: 0.1 };
    // A guarded gate's drop-rate test is stratified by query size, its guard-binding test by candidate count.
    const drop_rate = { ...base.drop_rate, strata_tested: 3, strata_total: 5, tested_share: 0.9 };
    const stratum = {
      min_candidates: 20,
      max_candidates: 49,
      queries: 400,
      empty_queries: 29,
      expected_empty_rate: 0.03,
      band_hi: 0.05,
      tested: true,
      source: null,
    };
    const candidates_per_query = { change: null, strata: [stratum] };
    const details = { window: { ...base, drop_rate, candidates_per_query, empty_queries: 29, empty_context: guard, empty_context_level: 2 } };
    const raise = (kind: "empty_context" | "drop_rate_drift") =>
      raiseAlert(
        {
          gate_id: `gate-${gate.reranker}`,
          gate,
          kind,
          summary:
            "7.2 % of 400 production queries had fewer than min(2, candidates) at or above the threshold, so the min_keep guard kept candidates below it",
          details,
          calibration_ids: ["cal_alertpage"],
        },
        deps(),
      );
    const html = await page(`/ui/alerts/${(await raise("empty_context")).alert.id}`, await session(TOKENS.read));
    expect(html).toContain("<h3>Queries where the min_keep guard bound: observed against expected</h3>");
    expect(html).not.toContain("lost every candidate");
    expect(html).toMatch(/<dt>Observed \(cumulative\)<\/dt><dd data-field="observed">7.5\u00a0%<\/dd>/u);
    expect(html).toContain('<dt>Guard bound</dt><dd data-field="empty-queries">29 (min_keep 2)</dd>');
    expect(html).not.toContain("Empty queries");
    // Its expected rate is for production's candidate counts, not the calibration's overall rate, and says so.
    expect(html).toContain(
      `<dd data-field="expected">3.0\u00a0%<div class="muted">${escaped("for the candidate counts production sent since the detector's last reset")}</div></dd>`,
    );
    // the same window's count on a drop-rate alert of that gate is where the guard bound too
    const drop = await page(`/ui/alerts/${(await raise("drop_rate_drift")).alert.id}`, await session(TOKENS.read));
    expect(drop).toContain("<h3>Drop rate: observed against expected</h3>");
    expect(drop).toContain(
      `<dd data-field="expected">22.0\u00a0%<div class="muted">${escaped("for the query sizes production sent since the detector's last reset (3 of 5 size strata tested)")}</div></dd>`,
    );
    expect(drop).toContain('<dt>Guard bound</dt><dd data-field="empty-queries">29 (min_keep 2)</dd>');
    expect(drop).not.toContain("Empty queries");
  });

  it("lays out an abstention_drift alert's numbers in cards: the rate over the queries that reported abstention", async () => {
    const gate = uniqueGate("abstention-cards");
    const base = window({ observed: 0.22, queries: 500, evidenceQueries: 100 });
    const abstention = {
      ...base.drop_rate,
      observed: 0.18,
      expected: 0.05,
      band: { lo: 0.02, hi: 0.08 },
      log_evidence: 6.1,
      evidence_observed: 0.31,
    };
    const { alert } = await raiseAlert(
      {
        gate_id: `gate-${gate.reranker}`,
        gate,
        kind: "abstention_drift",
        summary: "18.0 % of 400 production queries abstained (top score below abstain_below) against 5.0 % expected",
        details: { window: { ...base, abstention_queries: 400, abstained_queries: 72, abstention } },
        calibration_ids: ["cal_alertpage"],
      },
      deps(),
    );
    const html = await page(`/ui/alerts/${alert.id}`, await session(TOKENS.read));
    expect(html).toContain('<div class="cards">');
    expect(html).toContain("<h3>Abstention rate: observed against expected</h3>");
    expect(html).toMatch(/<dt>Observed \(cumulative\)<\/dt><dd data-field="observed">18.0\u00a0%<\/dd>/u);
    expect(html).toMatch(
      /data-field="observed-scope">the window&#39;s 400 queries that reported abstention since it opened at 2026-12-04 00:00:00 UTC/u,
    );
    expect(html).toContain('<dd data-field="expected">5.0\u00a0%</dd>');
    expect(html).toContain('<dd data-field="band">2.0\u00a0% to 8.0\u00a0%</dd>');
    expect(html).toMatch(/<dt>ln R<\/dt><dd data-field="evidence">6.1 \(alarm at 4.6\)<\/dd>/u);
    expect(html).toMatch(/<dt>Over the latest<\/dt><dd data-field="evidence-queries">100 queries<\/dd>/u);
    expect(html).toMatch(/<dt>Observed over them<\/dt><dd data-field="evidence-observed">31.0\u00a0%<\/dd>/u);
    expect(html).toContain('<dt>Abstained</dt><dd data-field="abstention-queries">72 of the 400 that reported abstention</dd>');
  });

  it("lays out a promotion pause's numbers: each arm this step, the decisions, the candidate arm's drift alarm", async () => {
    const gate = uniqueGate("promotion-cards");
    // The step's evidence as the promotions feature records it (decisionNumbers), in the alert's details as
    // src/worker/wiring.ts raises them: a field renamed in either fails the typecheck here, not only on the page.
    const w = window({ observed: 0.331, queries: 600, evidenceQueries: 100 });
    const drift = {
      window: WindowStatus.parse({
        ...w,
        log_threshold: 6.9,
        drop_rate: { ...w.drop_rate, expected: 0.3, band: { lo: 0.28, hi: 0.32 }, log_evidence: 7.25 },
      }),
      alarm: { kind: "drop_rate_drift", at: "2026-12-04T21:00:00.000Z", summary: "..." },
    } as const;
    const details = {
      promotion_id: "prm_x",
      step: 1,
      cause: "drift_alarm",
      ...decisionNumbers({
        step: 1,
        candidate_queries: 600,
        control_queries: 610,
        candidate_drop_rate: 0.331,
        control_drop_rate: 0.25,
        vs_control: LiveDecision.parse(decision("shifted", 0.081, [0.05, 0.112])),
        vs_target: LiveDecision.parse(decision("inconclusive", 0.03, [-0.01, 0.07])),
        candidate_drift: drift,
      }),
    } satisfies PromotionStopDetails;
    // the details are the contract's, whole (no field left out or added)
    expect(PromotionStopDetails.strict().parse(details)).toEqual(details);
    const { alert } = await raiseAlert(
      {
        gate_id: `gate-${gate.reranker}`,
        gate,
        kind: "promotion_paused",
        summary: "promotion prm_x of cal_v3 paused in step 2 of 3 (50 % of keyed traffic): drift_alarm",
        details,
        calibration_ids: ["cal_v3"],
      },
      deps(),
    );
    const html = await page(`/ui/alerts/${alert.id}`, await session(TOKENS.read));
    expect(html).toContain("<h3>Candidate arm against control, this step</h3>");
    expect(html).toContain('<dd data-field="cause">drift alarm</dd>');
    expect(html).toContain('<dt>Candidate</dt><dd data-field="observed">33.1\u00a0% over 600 queries</dd>');
    expect(html).toContain('<dt>Control</dt><dd data-field="expected">25.0\u00a0% over 610 queries</dd>');
    expect(html).toContain('<dd data-field="vs-control">shifted, +8.1\u00a0points (95 %: +5.0 to +11.2)</dd>');
    expect(html).toContain('<dd data-field="vs-target">inconclusive, +3.0\u00a0points (95 %: -1.0 to +7.0)</dd>');
    expect(html).toContain("<h3>The candidate arm&#39;s drift alarm</h3>");
    // to one decimal, as the alert sentences write ln R
    expect(html).toContain("<dt>ln R</dt><dd>7.3 (alarm at 6.9)</dd>");
  });

  it("shows a promotion stop's details of another shape as plain rows, not cards of dashes", async () => {
    const gate = uniqueGate("promotion-other");
    const { alert } = await raiseAlert(
      {
        gate_id: `gate-${gate.reranker}`,
        gate,
        kind: "promotion_paused",
        summary: "promotion prm_y of cal_v3 paused in step 1 of 3 (10 % of keyed traffic): shifted_vs_control",
        // a decision without its arms' numbers (not what decisionNumbers records)
        details: { promotion_id: "prm_y", step: 0, cause: "shifted_vs_control", vs_control: { decision: "shifted" } },
        calibration_ids: ["cal_v3"],
      },
      deps(),
    );
    const html = await page(`/ui/alerts/${alert.id}`, await session(TOKENS.read));
    expect(html).not.toContain("<h3>Candidate arm against control, this step</h3>");
    expect(html).toContain("<code>vs_control.decision</code>");
  });

  it("names a recall alert's evidence ln E, as its summary and docs/drift.md do", async () => {
    const gate = uniqueGate("recall-name");
    const recall = {
      calibration_id: "cal_recall",
      index_version: "v1",
      coverage: "any_relevant",
      target: 0.9,
      expected: 0.92,
      tolerated: 0.85,
      armed: true,
      not_armed_reason: null,
      queries: 50,
      covered: 3,
      queries_without_relevant: 0,
      batches: 1,
      observed: 0.06,
      confidence_sequence_95: [0.01, 0.2],
      log_evidence: 9.1,
      log_threshold: 3.7,
      alarm: true,
      alarms: 1,
      since: "2026-12-04T00:00:00.000Z",
    };
    const { alert } = await raiseAlert(
      {
        gate_id: `gate-${gate.reranker}`,
        gate,
        kind: "recall_drift",
        summary: "production coverage 6.0 % over 50 judged queries; evidence ln E = 9.1 >= 3.7",
        details: { recall },
        calibration_ids: ["cal_recall"],
      },
      deps(),
    );
    const html = await page(`/ui/alerts/${alert.id}`, await session(TOKENS.read));
    expect(html).toContain("<dt>ln E</dt>");
    expect(html).not.toContain("<dt>ln R</dt>");
  });
});

describe("acknowledge and resolve from the page", () => {
  it("take an optional note, bounded as the API bounds it, shown in the audit trail", async () => {
    const { id } = await repeatedDrift("notes");
    const admin = await session(TOKENS.admin);
    const html = await page(`/ui/alerts/${id}`, admin);
    expect(html).toMatch(new RegExp(`<input id="note-acknowledge" name="note" type="text" maxlength="${MAX_NOTE_LENGTH}"`, "u"));
    expect(html).toMatch(new RegExp(`<input id="note-resolve" name="note" type="text" maxlength="${MAX_NOTE_LENGTH}"`, "u"));
    const csrf = csrfOf(html);

    const tooLong = await post(`/ui/alerts/${id}/acknowledge`, admin, { csrf, note: "x".repeat(MAX_NOTE_LENGTH + 1) });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.text()).toContain(`at most ${MAX_NOTE_LENGTH}`);
    expect((await callJson("GET", `/v1/alerts/${id}`, 200, { token: TOKENS.read })).status).toBe("open");

    // a long note in three-byte characters fits the form body
    const note = "調".repeat(MAX_NOTE_LENGTH);
    const ack = await post(`/ui/alerts/${id}/acknowledge`, admin, { csrf, note });
    expect(ack.status).toBe(303);
    expect(ack.headers.get("location")).toBe(`/ui/alerts/${id}?done=acknowledged`);
    const res = await post(`/ui/alerts/${id}/resolve`, admin, { csrf, note: "  rolled back to v1  " });
    expect(res.headers.get("location")).toBe(`/ui/alerts/${id}?done=resolved`);
    expect(await callJson("GET", `/v1/alerts/${id}`, 200, { token: TOKENS.read })).toMatchObject({
      status: "resolved",
      acknowledged_note: note,
      resolved_note: "rolled back to v1",
    });
    const after = await page(`/ui/alerts/${id}`, admin);
    expect(after).toContain(`<span data-field="acknowledged-note">${note}</span>`);
    expect(after).toMatch(/<li data-step="resolved">Resolved at [^<]+ by [^<:]+: <span data-field="resolved-note">rolled back to v1<\/span><\/li>/u);
  });

  it("on an alert resolved meanwhile change nothing and say so on the alert page, for both actions", async () => {
    const { id } = await repeatedDrift("stale-action");
    const admin = await session(TOKENS.admin);
    const csrf = csrfOf(await page(`/ui/alerts/${id}`, admin));
    // someone else resolves it through the API while this page is open
    const resolved = await callJson("POST", `/v1/alerts/${id}/resolve`, 200, { token: TOKENS.admin, json: { note: "fixed" } });
    for (const action of ["acknowledge", "resolve"]) {
      const res = await post(`/ui/alerts/${id}/${action}`, admin, { csrf, note: "late" });
      expect(res.status, action).toBe(303);
      expect(res.headers.get("location"), action).toBe(`/ui/alerts/${id}?done=already-resolved`);
    }
    expect(await callJson("GET", `/v1/alerts/${id}`, 200, { token: TOKENS.read })).toMatchObject({
      status: "resolved",
      resolved_at: resolved.resolved_at,
      resolved_note: "fixed",
      acknowledged_at: null,
    });
    const html = await page(`/ui/alerts/${id}?done=already-resolved`, admin);
    const at = String(resolved.resolved_at)
      .replace("T", " ")
      .replace(/\.\d+Z$/u, " UTC");
    expect(html).toContain(`This alert was already resolved at ${at} by ${resolved.resolved_by}: nothing changed.`);
    expect(html).not.toContain("Something went wrong");
  });

  it("a stale CSRF token's error page links back to the alert, and only to a same-origin /ui page", async () => {
    const { id } = await repeatedDrift("stale-csrf");
    const admin = await session(TOKENS.admin);
    const stale = "0".repeat(64);
    const here = await post(`/ui/alerts/${id}/resolve`, admin, { csrf: stale }, { referer: `http://scoregate.test/ui/alerts/${id}` });
    expect(here.status).toBe(403);
    const body = await here.text();
    expect(body).toContain("CSRF token is missing or stale");
    expect(body).toContain(`<a href="/ui/alerts/${id}" data-field="back">Back to the page you were on</a>`);
    for (const referer of ["https://evil.example/ui/alerts/x", "http://scoregate.test/v1/alerts", "http://scoregate.test/uix"]) {
      const res = await post(`/ui/alerts/${id}/resolve`, admin, { csrf: stale }, { referer });
      expect(res.status, referer).toBe(403);
      const text = await res.text();
      expect(text, referer).not.toContain('data-field="back"');
      expect(text, referer).toContain('<a href="/ui">Back to the gates</a>');
    }
    expect((await callJson("GET", `/v1/alerts/${id}`, 200, { token: TOKENS.read })).status).toBe("open");
  });
});
