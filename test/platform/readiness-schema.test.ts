/**
 * /healthz's schema probe (src/platform/readiness.ts REQUIRED_SCHEMA) names what the migrations make: every table,
 * index and added column, read here from every file of migrations/. A migration that makes only an index or a column
 * (0011, 0012) is seen too, and a statement of a form this reader does not know (a rename, a drop) fails the test
 * instead of going unprobed.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REQUIRED_SCHEMA } from "../../src/platform/readiness";

const DIR = join(import.meta.dirname, "../../migrations");

/** The tables, indexes and added columns of the migrations, in the order they make them. */
function madeByMigrations() {
  const made = { tables: [] as string[], indexes: [] as string[], columns: [] as [string, string][] };
  for (const file of readdirSync(DIR)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    const sql = readFileSync(join(DIR, file), "utf8").replace(/--[^\n]*/gu, "");
    for (const statement of sql.split(";").map((s) => s.replace(/\s+/gu, " ").trim())) {
      const table = /^CREATE TABLE (?:IF NOT EXISTS )?(\w+)/iu.exec(statement);
      const index = /^CREATE (?:UNIQUE )?INDEX (?:IF NOT EXISTS )?(\w+)/iu.exec(statement);
      const column = /^ALTER TABLE (\w+) ADD (?:COLUMN )?(\w+)/iu.exec(statement);
      if (table) made.tables.push(table[1]!);
      else if (index) made.indexes.push(index[1]!);
      else if (column) made.columns.push([column[1]!, column[2]!]);
      else expect(statement, `${file}: a statement the schema probe does not know`).toMatch(/^$|^(INSERT|UPDATE|DELETE) /iu);
    }
  }
  return made;
}

describe("the schema /healthz probes", () => {
  it("is what the migrations make: every table, index and added column, in their order", () => {
    const made = madeByMigrations();
    expect(made.tables.length).toBeGreaterThan(10);
    expect(REQUIRED_SCHEMA.tables).toEqual(made.tables);
    expect(REQUIRED_SCHEMA.indexes).toEqual(made.indexes);
    expect(REQUIRED_SCHEMA.columns).toEqual(made.columns);
  });
});
