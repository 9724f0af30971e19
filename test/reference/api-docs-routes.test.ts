/**
 * docs/api.md is written by hand; the route table (src/contract/routes.ts ROUTES) is what the Worker serves. Every
 * operation of the table is described there, named as `METHOD /path` (a heading's `pause|resume` alternatives read
 * as one name each), so a new route without its documentation fails here, and an operation a heading documents that the
 * table does not have (renamed, removed) fails too.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROUTES } from "../../src/contract";

const API_MD = readFileSync(join(import.meta.dirname, "../../docs/api.md"), "utf8");

/** Every `METHOD /path` named in backticks in `text`, alternatives of the last segment expanded, query strings dropped. */
function named(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/`(GET|POST|PUT|PATCH|DELETE) (\/[^`?[\s]*)/gu)) {
    const path = m[2]!;
    const cut = path.lastIndexOf("/");
    for (const last of path.slice(cut + 1).split("|")) names.add(`${m[1]} ${path.slice(0, cut + 1)}${last}`);
  }
  return names;
}

describe("docs/api.md and the route table", () => {
  it("describes every operation of the table, and none the table lacks", () => {
    const served = new Set(Object.values(ROUTES).map((r) => `${r.method.toUpperCase()} ${r.path}`));
    const docs = named(API_MD);
    expect(
      [...served].filter((r) => !docs.has(r)),
      "served but not in docs/api.md",
    ).toEqual([]);
    const headings = named(
      API_MD.split("\n")
        .filter((line) => line.startsWith("#"))
        .join("\n"),
    );
    expect(headings.size).toBeGreaterThan(30);
    expect(
      [...headings].filter((r) => !served.has(r)),
      "a heading of docs/api.md, but not served",
    ).toEqual([]);
  });
});
