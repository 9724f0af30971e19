/**
 * A WHERE clause of equality filters whose values are bound parameters; filters left undefined are skipped.
 * Column names come from code, never from input.
 */
export function equalityWhere(filters: readonly (readonly [column: string, value: string | undefined])[]): { sql: string; params: string[] } {
  const used = filters.filter((f): f is readonly [string, string] => f[1] !== undefined);
  return {
    sql: used.length === 0 ? "" : `WHERE ${used.map(([column]) => `${column} = ?`).join(" AND ")}`,
    params: used.map(([, value]) => value),
  };
}

/**
 * Whether `err` is SQLite's refusal of a write by a UNIQUE index, as D1 words it; with `column` (`table.column`), by
 * an index whose first column that is.
 */
export const isUniqueViolation = (err: unknown, column?: string): boolean =>
  String(err).includes(column === undefined ? "UNIQUE constraint failed" : `UNIQUE constraint failed: ${column}`);
