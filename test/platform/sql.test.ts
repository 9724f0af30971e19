import { describe, expect, it } from "vitest";
import { equalityWhere, isUniqueViolation } from "../../src/platform/sql";

describe("isUniqueViolation", () => {
  // D1 wraps SQLite's message: "D1_ERROR: UNIQUE constraint failed: <table>.<column>[, <table>.<column>...]: SQLITE_CONSTRAINT"
  const composite = new Error(
    "D1_ERROR: UNIQUE constraint failed: calibrations.created_by, calibrations.idempotency_key, calibrations.request_hash: SQLITE_CONSTRAINT",
  );
  it("names the index by its first column, or any UNIQUE index without one", () => {
    expect(isUniqueViolation(composite, "calibrations.created_by")).toBe(true);
    expect(isUniqueViolation(composite)).toBe(true);
    expect(isUniqueViolation(composite, "webhook_endpoints.created_by")).toBe(false);
    expect(isUniqueViolation(new Error("D1_ERROR: NOT NULL constraint failed: calibrations.record"))).toBe(false);
  });
});

describe("equalityWhere", () => {
  it("binds the filters given and skips the others", () => {
    expect(
      equalityWhere([
        ["kind", "a"],
        ["status", undefined],
        ["gate_id", "g"],
      ]),
    ).toEqual({ sql: "WHERE kind = ? AND gate_id = ?", params: ["a", "g"] });
    expect(equalityWhere([["kind", undefined]])).toEqual({ sql: "", params: [] });
  });
});
