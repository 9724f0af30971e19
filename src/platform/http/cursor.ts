/**
 * Listing cursors: the database order (a sequence number or rowid) of the last row of a page, stable under inserts:
 * rows added later sort after (or before, newest first) the cursor, so following `next_cursor` visits every row once.
 *
 * Opaque to clients, and checked without state: a cursor is CURSOR_CHECK_LENGTH base-36 characters of a check, then
 * the order in base 36. The check is a hash of the listing and the order, so a cursor the API did not make (a typo, a
 * truncated copy, an arbitrary string) or one made by another listing is refused with 400 instead of being read as a
 * position (`garbage` was once the first page). The check guards against mistakes, not against forgery: a forged
 * cursor only positions a listing the caller may read anyway.
 */
import { CURSOR_CHECK_LENGTH, Cursor } from "../../contract";
import { AppError } from "../errors";

/**
 * The listings that page with cursors: a cursor is valid for the one that made it only. A deliveries cursor holds the
 * rowid of the page's last delivery, read back as that delivery's place in the listing's (created_at, id) order.
 */
export type CursorListing = "calibrations" | "gates" | "alerts" | "alerts-by-urgency" | "promotions" | "alert-occurrences" | "deliveries";

/** 36^CURSOR_CHECK_LENGTH: the checks there are (about 2.2e9), so an arbitrary string passes once in that many. */
const CHECK_SPACE = 36 ** CURSOR_CHECK_LENGTH;

/** FNV-1a (32 bits) of the listing, its scope and the order's digits, as CURSOR_CHECK_LENGTH base-36 characters. */
function checkOf(listing: CursorListing, scope: string, digits: string): string {
  let h = 0x811c9dc5;
  for (const ch of `scoregate-cursor:${listing}:${scope}:${digits}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % CHECK_SPACE).toString(36).padStart(CURSOR_CHECK_LENGTH, "0");
}

/**
 * The cursor of a row's database order (a positive safe integer) in `listing`, for the rows `scope` selects (the gate a
 * history or promotion listing is of, an alert listing's filters): a cursor passed back with another gate or other
 * filters would name a position in rows it was not made for, so it is refused like any cursor the listing did not make.
 */
export function cursorOf(seq: number, listing: CursorListing, scope = ""): string {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new RangeError(`cursorOf: ${seq} is not a positive safe integer`);
  const digits = seq.toString(36);
  return `${checkOf(listing, scope, digits)}${digits}`;
}

/**
 * The database order a cursor of `listing` (for `scope`) names; null without one; 400 for a cursor this listing and
 * scope cannot have made.
 */
export function seqOfCursor(cursor: string | undefined, listing: CursorListing, scope = ""): number | null {
  if (cursor === undefined) return null;
  const digits = cursor.slice(CURSOR_CHECK_LENGTH);
  const seq = Cursor.safeParse(cursor).success && !digits.startsWith("0") ? Number.parseInt(digits, 36) : Number.NaN;
  if (!Number.isSafeInteger(seq) || seq < 1 || cursor.slice(0, CURSOR_CHECK_LENGTH) !== checkOf(listing, scope, digits)) {
    // Echoed when it has a cursor's shape (short, base 36): a raw dashboard query could be anything.
    const named = Cursor.safeParse(cursor).success ? `cursor ${JSON.stringify(cursor)}` : "cursor";
    throw new AppError(
      "bad_request",
      `${named} is not one this listing returned for these filters (pass next_cursor back unchanged, with the same filters)`,
      [{ path: "cursor", message: "is not a cursor this listing returned" }],
    );
  }
  return seq;
}
