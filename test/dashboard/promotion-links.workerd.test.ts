// Links to a promotion's timeline land on it: the gate page shows its newest GATE_PAGE_PROMOTIONS promotions, and one
// a link names (?promotion=, as the alert page and the overview link) is shown too when it is older, its section the
// fragment's target. The page says how many promotions the gate has had when it shows fewer, and where to read the
// rest; a link naming no promotion, or another gate's, gets a notice on a page that renders as usual.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { raiseAlert } from "../../src/alerts/lifecycle";
import { GATE_PAGE_PROMOTIONS } from "../../src/dashboard/data/gate";
import type { Env } from "../../src/platform/env";
import { alertDeps } from "../../src/worker/wiring";
import { callJson, spreadScores, TOKENS, uniqueGate } from "../support/worker";
import { page, session } from "./session-support";

const upload = async (gate: ReturnType<typeof uniqueGate>, index_version: string, offset: number, activate: boolean) =>
  (
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: {
        ...gate,
        index_version,
        scores: spreadScores(400).map((s) => Math.min(1, s + offset)),
        policy: { kind: "drop_rate", target: 0.2 },
        activate,
      },
    })
  ).calibration;

/** Starts a promotion of `candidate` and rolls it back by hand: its id. */
async function promotedAndRolledBack(candidate: string, reason: string): Promise<string> {
  const p = await callJson("POST", `/v1/calibrations/${candidate}/promote`, 201, { json: { steps: [10, 50, 100], min_queries: 500 } });
  await callJson("POST", `/v1/promotions/${p.id}/rollback`, 200, { json: { reason } });
  return p.id;
}

/** The promotions whose sections the page has, in page order. */
const sections = (html: string): string[] => [...html.matchAll(/<section id="promotion-([^"]+)"/gu)].map((m) => m[1]!);

/** The text of the <p> marked data-field="name", tags dropped and the escapes read. */
function field(html: string, name: string): string | null {
  const m = new RegExp(`data-field="${name}"[^>]*>([\\s\\S]*?)</p>`, "u").exec(html);
  return m === null
    ? null
    : m[1]!
        .replace(/<[^>]+>/gu, "")
        .replace(/\s+/gu, " ")
        .replaceAll("&#39;", "'")
        .replaceAll("&quot;", '"')
        .replaceAll("&lt;", "<")
        .replaceAll("&gt;", ">")
        .replaceAll("&amp;", "&");
}

describe("links to a promotion's timeline", () => {
  it("land on it even when it is older than the gate page's newest; the page says how many it shows of how many", async () => {
    const gate = uniqueGate("promotion-links");
    const v1 = await upload(gate, "v1", 0, true);
    const v2 = await upload(gate, "v2", 0.05, false);
    const ids: string[] = [];
    for (let i = 0; i < GATE_PAGE_PROMOTIONS + 2; i++) ids.push(await promotedAndRolledBack(v2.id, `attempt ${i + 1}`));
    const [oldest] = ids;
    const newest = ids.slice(-GATE_PAGE_PROMOTIONS).reverse();
    const cookie = await session(TOKENS.read);
    const base = `/ui/gates/${v1.gate_id}`;

    // Without a link's promotion: the newest three, and what is left out and where to read it.
    const plain = await page(base, cookie);
    expect(sections(plain)).toEqual(newest);
    const shown = field(plain, "promotions-shown");
    expect(shown).toContain(`The newest ${GATE_PAGE_PROMOTIONS} of ${ids.length} promotions are shown, newest first.`);
    expect(shown).toContain(`GET /v1/gates/${v1.gate_id}/promotions`);
    expect(shown).toContain("scoregate promotion ID");
    expect(plain).not.toContain('data-field="promotion-notice"');

    // The alert page's link to the oldest promotion (a promotion alert naming it) carries it, and the gate page then
    // shows its timeline after the newest, its section the fragment.
    const { alert } = await raiseAlert(
      {
        gate_id: v1.gate_id,
        gate,
        kind: "promotion_rolled_back",
        summary: `promotion ${oldest} of ${v2.id} (v2 over v1) rolled back in step 1 of 3 (10 % of keyed traffic): admin`,
        details: { promotion_id: oldest, step: 0, cause: "admin" },
        calibration_ids: [],
      },
      alertDeps(env as unknown as Env, () => undefined),
    );
    const alertPage = await page(`/ui/alerts/${alert.id}`, cookie);
    const href = `${base}?promotion=${oldest}#promotion-${oldest}`;
    expect(alertPage).toContain(`<a href="${href}">${oldest}</a>`);
    const linked = await page(href.slice(0, href.indexOf("#")), cookie);
    expect(sections(linked)).toEqual([...newest, oldest]);
    expect(field(linked, "asked-promotion")).toBe(`Older than the newest ${GATE_PAGE_PROMOTIONS}: shown because the link you followed named it.`);
    expect(field(linked, "promotions-shown")).toContain(
      `The newest ${GATE_PAGE_PROMOTIONS} of ${ids.length} promotions are shown, newest first, then ${oldest}, the older one the link named.`,
    );
    // its own timeline: the rollback with its reason
    const section = linked.slice(linked.indexOf(`<section id="promotion-${oldest}"`));
    expect(section).toContain("attempt 1");
    expect(section).toMatch(/data-field="promotion-state">rolled_back</u);
    expect(linked).not.toContain('data-field="promotion-notice"');

    // One of the newest named: shown once, where it is.
    const recent = await page(`${base}?promotion=${newest[1]}`, cookie);
    expect(sections(recent)).toEqual(newest);
    expect(recent).not.toContain('data-field="asked-promotion"');
    expect(recent).not.toContain('data-field="promotion-notice"');
  });

  it("give a notice, never an error, for a promotion that does not exist or is another gate's", async () => {
    const gate = uniqueGate("promotion-links-other");
    const v1 = await upload(gate, "v1", 0, true);
    const v2 = await upload(gate, "v2", 0.05, false);
    const mine = await promotedAndRolledBack(v2.id, "mine");
    const other = uniqueGate("promotion-links-elsewhere");
    const w1 = await upload(other, "v1", 0, true);
    const w2 = await upload(other, "v2", 0.05, false);
    const theirs = await promotedAndRolledBack(w2.id, "theirs");
    const cookie = await session(TOKENS.read);
    const base = `/ui/gates/${v1.gate_id}`;

    const missing = await page(`${base}?promotion=prm_nosuchpromotion`, cookie);
    expect(field(missing, "promotion-notice")).toBe(
      "There is no promotion prm_nosuchpromotion, so this page cannot show it. This gate's newest are under Promotions.",
    );
    expect(sections(missing)).toEqual([mine]);
    // one promotion, all of it shown: nothing to say of the rest
    expect(missing).not.toContain('data-field="promotions-shown"');

    const elsewhere = await page(`${base}?promotion=${theirs}`, cookie);
    expect(field(elsewhere, "promotion-notice")).toMatch(new RegExp(`^Promotion ${theirs} is another gate's, not this one's: see it on .+\\. `, "u"));
    expect(elsewhere).toContain(`<a href="/ui/gates/${w1.gate_id}?promotion=${theirs}#promotion-${theirs}">`);
    expect(sections(elsewhere)).toEqual([mine]);
    // and there it is shown
    expect(sections(await page(`/ui/gates/${w1.gate_id}?promotion=${theirs}`, cookie))).toEqual([theirs]);

    // An id that is markup is text; a gate without promotions says so.
    const markup = await page(`/ui/gates/${w1.gate_id}?promotion=${encodeURIComponent('<b id="x">')}`, cookie);
    expect(markup).not.toContain('<b id="x">');
    expect(field(markup, "promotion-notice")).toContain('There is no promotion <b id="x">, so this page cannot show it.');
    const fresh = uniqueGate("promotion-links-none");
    const f1 = await upload(fresh, "v1", 0, true);
    const none = await page(`/ui/gates/${f1.gate_id}?promotion=${mine}`, cookie);
    expect(field(none, "promotion-notice")).toMatch(/is another gate's, not this one's: see it on .+\. This gate has had no promotion\.$/u);
    expect(none).not.toContain('id="promotions"');
  });

  it("from the rebuild decision: its line reads the newer calibration's rollback older than the newest, and links it", async () => {
    const gate = uniqueGate("promotion-links-rebuild");
    const v1 = await upload(gate, "v1", 0, true);
    const v2 = await upload(gate, "v2", 0.3, false);
    const v3 = await upload(gate, "v3", 0.02, false);
    const first = await promotedAndRolledBack(v2.id, "v2 regressed");
    for (let i = 0; i < GATE_PAGE_PROMOTIONS; i++) await promotedAndRolledBack(v3.id, `v3 attempt ${i + 1}`);
    // v2 served by hand, then rolled back to v1: the page compares v1 and v2, whose latest promotion is the first.
    for (const c of [v2, v1]) await callJson("POST", `/v1/calibrations/${c.id}/activate`, 200, { json: { reason: `to ${c.index_version}` } });
    const cookie = await session(TOKENS.read);
    const base = `/ui/gates/${v1.gate_id}`;
    const html = await page(base, cookie);
    expect(sections(html)).not.toContain(first);
    const rebuild = html.slice(html.indexOf('id="rebuild"'), html.indexOf('id="promotions"'));
    expect(rebuild).toContain(">Rebuild decision: v1 → v2<");
    const line = /<p data-field="(?:confirmed|overruled)"[\s\S]*?<\/p>/u.exec(rebuild)?.[0] ?? "";
    expect(line.replace(/<[^>]+>/gu, "")).toContain(`: the promotion of v2 (${first}) was rolled back at 10\u00a0% of traffic on `);
    expect(line).toContain(`<a href="${base}?promotion=${first}#promotion-${first}">`);
    // followed: its section is there, and the line then links within the page
    const followed = await page(`${base}?promotion=${first}`, cookie);
    expect(sections(followed)).toContain(first);
    const rebuilt = followed.slice(followed.indexOf('id="rebuild"'), followed.indexOf('id="promotions"'));
    expect(rebuilt).toContain(`<a href="#promotion-${first}">${first}</a>`);
  });
});
