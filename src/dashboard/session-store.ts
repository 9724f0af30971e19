/**
 * Signed-out dashboard sessions (docs/storage.md, `ended_sessions`). A session cookie verifies without storage
 * (session-token.ts); this store answers the one thing a signature cannot: whether its owner signed out since. It is
 * D1, read on every dashboard page: a sign-out is seen at once by every isolate, which KV (eventually consistent, up to
 * a minute) would not promise.
 */

export interface SessionStore {
  /** Records that session `sid`, which would end at `expiresAtS`, has ended; forgets sessions past their end. */
  end(sid: string, expiresAtS: number, nowS: number): Promise<void>;
  /** Whether session `sid` was signed out. */
  ended(sid: string): Promise<boolean>;
}

export class D1SessionStore implements SessionStore {
  constructor(private readonly db: D1Database) {}

  async end(sid: string, expiresAtS: number, nowS: number): Promise<void> {
    await this.db.batch([
      this.db.prepare(`INSERT OR IGNORE INTO ended_sessions (sid, expires_at) VALUES (?, ?)`).bind(sid, expiresAtS),
      this.db.prepare(`DELETE FROM ended_sessions WHERE expires_at <= ?`).bind(nowS),
    ]);
  }

  async ended(sid: string): Promise<boolean> {
    return (await this.db.prepare(`SELECT 1 AS x FROM ended_sessions WHERE sid = ?`).bind(sid).first()) !== null;
  }
}
