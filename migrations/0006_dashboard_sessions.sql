-- Dashboard sessions that were signed out before they expired (src/dashboard/session-store.ts). A session cookie is
-- signed and carries its own expiry (src/dashboard/session-token.ts), so only what a signature cannot say is stored:
-- that its owner signed out. A row is useless once the session would have expired, and each sign-out deletes those.
CREATE TABLE ended_sessions (
  sid        TEXT PRIMARY KEY,   -- the cookie's random session id (16 bytes, base64url), never the token
  expires_at INTEGER NOT NULL    -- Unix seconds: when the session would have ended anyway
) WITHOUT ROWID;
CREATE INDEX ended_sessions_by_expiry ON ended_sessions (expires_at);
