/**
 * migrations/0008_gate_events.sql on a database that already has activations: every earlier row gets kind
 * `activation` and the seq of its gate's previous row as prev_seq (0 for the first), and each gate's head is its
 * newest row. Runs the migration files themselves on node:sqlite (the SQLite that D1 runs speaks the same SQL).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";

const DIR = join(import.meta.dirname, "..", "..", "migrations");
const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".sql"))
  .sort();

describe("migration 0008_gate_events", () => {
  it("backfills kind, prev_seq per gate and the gates' heads", () => {
    const db = new DatabaseSync(":memory:");
    const before = files.filter((f) => f < "0008");
    expect(files).toContain("0008_gate_events.sql");
    for (const f of before) db.exec(readFileSync(join(DIR, f), "utf8"));
    for (const g of ["g1", "g2", "g3"]) db.prepare(`INSERT INTO gates VALUES (?, 'i', 'e', 'r', 't')`).run(g);
    const cal = db.prepare(
      `INSERT INTO calibrations (id, gate_id, index_version, threshold, expected_drop_rate, n, record, distribution, created_at, created_by)
       VALUES (?, ?, 'v1', 0.5, 0.2, 10, '{}', x'00', 't', 'a')`,
    );
    const calibrations: [string, string][] = [
      ["c1", "g1"],
      ["c2", "g2"],
      ["c3", "g1"],
    ];
    for (const [id, g] of calibrations) cal.run(id, g);
    const act = db.prepare(
      `INSERT INTO activations (id, gate_id, index_version, calibration_id, previous_calibration_id, activated_at, actor, reason)
       VALUES (?, ?, 'v1', ?, NULL, 't', 'a', NULL)`,
    );
    // seqs 1..4: g1, g2, g1, g1
    const activations: [string, string, string][] = [
      ["a1", "g1", "c1"],
      ["a2", "g2", "c2"],
      ["a3", "g1", "c3"],
      ["a4", "g1", "c1"],
    ];
    for (const [id, g, c] of activations) act.run(id, g, c);

    db.exec(readFileSync(join(DIR, "0008_gate_events.sql"), "utf8"));
    const rows = db.prepare(`SELECT id, seq, prev_seq, kind, event FROM activations ORDER BY seq`).all();
    expect(rows.map((r) => [r.id, r.seq, r.prev_seq, r.kind, r.event])).toEqual([
      ["a1", 1, 0, "activation", null],
      ["a2", 2, 0, "activation", null],
      ["a3", 3, 1, "activation", null],
      ["a4", 4, 3, "activation", null],
    ]);
    const heads = db.prepare(`SELECT gate_id, head_seq, rollout, shadows FROM gate_heads ORDER BY gate_id`).all();
    // g3 never activated: no head (0 for the conditional write)
    expect(heads.map((h) => [h.gate_id, h.head_seq, h.rollout, h.shadows])).toEqual([
      ["g1", 4, null, "[]"],
      ["g2", 2, null, "[]"],
    ]);
  });
});
