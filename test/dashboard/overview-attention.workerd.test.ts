// What the overview says first: whether anything needs a person (a gate in alarm, a gate with an unresolved alert of
// another kind, an uncalibrated gate a service keeps asking for), each in its own section on every page; the other
// gates by index, then embedding, then reranker. And an uncalibrated_request alert's page: who asks, the gates it
// suggests, its fields once. Alerts are seeded through the alert store (a rolled-back promotion or five minutes of a
// service's requests would prove nothing more about the pages). Storage is this file's own: the overview lists only
// the gates made here.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { D1AlertStore } from "../../src/alerts/d1-store";
import type { Alert } from "../../src/contract";
import { gateIdOf } from "../../src/platform/ids";
import { openAlert } from "../support/alert-record";
import { callJson, spreadScores, TOKENS } from "../support/worker";
import { page, session } from "./session-support";

const store = new D1AlertStore((env as unknown as { DB: D1Database }).DB);

/** The gate ids of the rows of one table of the overview (data-table="alarms", "attention" or "gates"). */
const rowsOf = (html: string, table: string): string[] => {
  const start = html.indexOf(`data-table="${table}"`);
  if (start < 0) return [];
  const body = html.slice(start, html.indexOf("</table>", start));
  return [...body.matchAll(/data-gate="([0-9a-f]+)"/gu)].map((m) => m[1]!);
};

/** The text of the element carrying data-field="attention" (the page's first words), tags stripped. */
const attentionOf = (html: string): string => {
  const m = /<p[^>]*data-field="attention"[^>]*>([\s\S]*?)<\/p>/u.exec(html);
  return (m?.[1] ?? "")
    .replace(/<[^>]+>/gu, "")
    .replace(/\s+/gu, " ")
    .trim();
};

const calibrate = async (gate: Alert["gate"]): Promise<{ id: string; gate_id: string }> =>
  (
    await callJson("POST", "/v1/calibrations", 201, {
      token: TOKENS.calibrate,
      json: { ...gate, index_version: "v1", scores: spreadScores(50), policy: { kind: "drop_rate", target: 0.2 } },
    })
  ).calibration;

/** Stores an open alert seen once at `at`. */
async function seed(id: string, gate_id: string, gate: Alert["gate"], kind: Alert["kind"], details: Record<string, unknown>, at: string) {
  const alert = openAlert({ id, gate_id, gate, kind, details, at });
  const raised = await store.raise(alert, { id: `evt_${id}`, type: "alert.opened", payload: "{}" });
  expect(raised?.opened).toBe(true);
}

const DOCS = { index: "docs", embedding: "intfloat/e5-large-v2", reranker: "BAAI/bge-reranker-v2-m3" };
const REPLAY = { index: "docs-upgrade-replay", embedding: "intfloat/e5-large-v2", reranker: "BAAI/bge-reranker-v2-m3" };
const DOCS_V3 = { index: "docs", embedding: "intfloat/e5-large-v3", reranker: "BAAI/bge-reranker-v2-m3" };
const ROLLED = { index: "docs", embedding: "intfloat/e5-large-v2", reranker: "rerank-rolled-back" };
const DOCZ = { index: "docz", embedding: "intfloat/e5-large-v2", reranker: "BAAI/bge-reranker-v2-m3" };

describe("the overview's first words and sections", () => {
  it("sorts the other gates by index, then embedding, then reranker, and says when nothing needs attention", async () => {
    // Made out of order: the names' joined strings would put docs-upgrade-replay before docs / ….
    const replay = await calibrate(REPLAY);
    const v3 = await calibrate(DOCS_V3);
    const docs = await calibrate(DOCS);
    const rolled = await calibrate(ROLLED);
    const html = await page("/ui", await session(TOKENS.read));
    expect(rowsOf(html, "gates")).toEqual([docs.gate_id, rolled.gate_id, v3.gate_id, replay.gate_id]);
    expect(attentionOf(html)).toBe("Nothing needs attention: no gate is in alarm and no alert is open or acknowledged.");
    expect(html).not.toContain('data-table="attention"');
    expect(html).not.toContain('data-table="uncalibrated"');
  });

  it("lists a gate with an unresolved alert but no alarm in its own section, and counts its alerts first", async () => {
    const rolledId = await gateIdOf(ROLLED);
    await seed("alr_attnrolled0001", rolledId, ROLLED, "promotion_rolled_back", {}, "2026-12-05T07:00:00.000Z");
    await seed("alr_attnshift00001", rolledId, ROLLED, "rebuild_shift", {}, "2026-12-05T07:01:00.000Z");
    const html = await page("/ui", await session(TOKENS.read));
    expect(attentionOf(html)).toBe("Needs attention: 2 unresolved alerts on 1 gate with unresolved alerts.");
    expect(html).toContain('<a href="#with-alerts">');
    // No detector is in alarm: the section says so, and the gate is not left among the others.
    expect(html).toContain('data-field="no-alarm"');
    expect(rowsOf(html, "attention")).toEqual([rolledId]);
    expect(rowsOf(html, "gates")).not.toContain(rolledId);
    expect(html).toContain("With unresolved alerts (1)");
    expect(html).toContain("Other gates (3)");
    // The row's first cells after its name are its alerts and its detector.
    const row = html.slice(html.indexOf(`data-gate="${rolledId}"`), html.indexOf("</tr>", html.indexOf(`data-gate="${rolledId}"`)));
    const fields = [...row.matchAll(/<td[^>]*data-field="([a-z-]+)"/gu)].map((m) => m[1]);
    expect(fields.slice(0, 3)).toEqual(["alerts", "detector", "split"]);
    expect(row).toContain('href="/ui/alerts/alr_attnrolled0001"');
    // the kind may break after each "_" (one long word kept the table wider than the page at 1280 px)
    expect(row).toContain("promotion_<wbr/>rolled_<wbr/>back");
  });

  it("lists the uncalibrated gates services ask for, linked to their alerts, with the gates they suggest", async () => {
    const doczId = await gateIdOf(DOCZ);
    await seed(
      "alr_attnuncal00001",
      doczId,
      DOCZ,
      "uncalibrated_request",
      { index_version: null, token: "dev-read", client: "rag-service/1.0", minutes: 6, window_minutes: 15, suggestions: [DOCS] },
      "2026-12-05T07:02:00.000Z",
    );
    // An index no gate has and nothing similar to: listed, with nothing to suggest.
    const other = { index: "zzz-unknown", embedding: "e", reranker: "r" };
    await seed("alr_attnuncal00002", await gateIdOf(other), other, "uncalibrated_request", { token: "batch" }, "2026-12-05T07:03:00.000Z");
    const cookie = await session(TOKENS.read);
    const html = await page("/ui", cookie);
    expect(attentionOf(html)).toBe("Needs attention: 4 unresolved alerts on 1 gate with unresolved alerts and 2 uncalibrated gates asked for.");
    expect(html).toContain("Uncalibrated gates asked for (2)");
    const table = html.slice(html.indexOf('data-table="uncalibrated"'), html.indexOf("</table>", html.indexOf('data-table="uncalibrated"')));
    // Newest first; each named and linked to its alert; the suggested gate linked to its gate page.
    expect([...table.matchAll(/data-alert="(alr_[a-z0-9]+)"/gu)].map((m) => m[1])).toEqual(["alr_attnuncal00002", "alr_attnuncal00001"]);
    expect(table).toContain('<a href="/ui/alerts/alr_attnuncal00001">docz / intfloat/e5-large-v2 / BAAI/bge-reranker-v2-m3</a>');
    expect(table).toContain("token &quot;dev-read&quot; (client rag-service/1.0)");
    expect(table).toContain(`<a href="/ui/gates/${await gateIdOf(DOCS)}">docs / intfloat/e5-large-v2 / BAAI/bge-reranker-v2-m3</a>`);
    // The index filter keeps only its own index's asks; the section is gone when none is left.
    const filtered = await page("/ui?index=docz", cookie);
    expect(filtered).not.toContain("alr_attnuncal00002");
    expect(filtered).toContain("Uncalibrated gates asked for (1)");
    expect(await page("/ui?index=docs", cookie)).not.toContain('data-table="uncalibrated"');
  });
});

describe("an uncalibrated_request alert's page", () => {
  it("says who keeps asking and which calibrated gate was likely meant, and prints its fields once", async () => {
    const html = await page("/ui/alerts/alr_attnuncal00001", await session(TOKENS.read));
    expect(html).toContain('data-group="caller"');
    expect(html).toMatch(/data-field="client">rag-service\/1\.0</u);
    expect(html).toMatch(/data-field="minutes">in 6 different minutes of the last 15</u);
    expect(html).toContain(`data-suggestion="${await gateIdOf(DOCS)}"`);
    expect(html.split('data-table="details"')).toHaveLength(2);
    expect(html.split("Every number of the latest occurrence")).toHaveLength(2);
    // Without suggestions: no "Did you mean".
    const bare = await page("/ui/alerts/alr_attnuncal00002", await session(TOKENS.read));
    expect(bare).toContain('data-group="caller"');
    expect(bare).not.toContain("Did you mean");
  });

  it("shows an alert without a layout of its own as its fields, once", async () => {
    const gate = { index: "attn-raw", embedding: "e", reranker: "r" };
    await seed(
      "alr_attnraw0000001",
      await gateIdOf(gate),
      gate,
      "unscored_candidates",
      { candidates: 1200, unscored: 700 },
      "2026-12-05T07:04:00.000Z",
    );
    const html = await page("/ui/alerts/alr_attnraw0000001", await session(TOKENS.read));
    expect(html.split('data-table="details"')).toHaveLength(2);
    expect(html).not.toContain("Every number of the latest occurrence");
    expect(html).toMatch(/<code>unscored<\/code><\/th><td>700</u);
  });
});
