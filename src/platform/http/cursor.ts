/**
 * Listing cursors: the database order (a sequence number or rowid) of the last row of a page, in base 36. Opaque to
 * clients (the contract's `Cursor` accepts only what this makes), stable under inserts: rows added later sort after
 * (or before, newest first) the cursor, so following `next_cursor` visits every row once.
 */
import { AppError } from "../errors";

/** The cursor of a row's database order (a positive safe integer). */
export function cursorOf(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new RangeError(`cursorOf: ${seq} is not a positive safe integer`);
  return seq.toString(36);
}

/** The database order a cursor names; null without one; 400 for a cursor this API cannot have made. */
export function seqOfCursor(cursor: string | undefined): number | null {
  if (cursor === undefined) return null;
  const seq = /^[0-9a-z]{1,11}$/u.test(cursor) ? Number.parseInt(cursor, 36) : Number.NaN;
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw new AppError("bad_request", "cursor is not one this API returned (pass next_cursor back unchanged)", [
      { path: "cursor", message: "invalid cursor" },
    ]);
  }
  return seq;
}
