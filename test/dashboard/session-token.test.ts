/** The session cookie's value and secret (src/dashboard/session-token.ts): what opens a session and what does not. */
import { describe, expect, it } from "vitest";
import { DEV_SESSION_SECRET, openSessionValue, type SessionToken, sessionSecretOf, sessionValue } from "../../src/dashboard/session-token";
import { sha256, toHex } from "../../src/platform/digest";
import { SESSION_MAX_AGE_S } from "../../src/platform/limits";

const SECRET = "a-test-secret-that-is-long-enough-0123456789";
const NOW = 1_800_000_000;
const sid = new Uint8Array(16).map((_, i) => i * 7);

const tokens = async (...entries: [string, "read" | "calibrate" | "admin", string][]): Promise<SessionToken[]> =>
  Promise.all(entries.map(async ([name, scope, token]) => ({ name, scope, digest: await sha256(token) })));

describe("session values", () => {
  it("opens as the token's principal until it expires, and never contains the token or its digest", async () => {
    const configured = await tokens(["alice", "admin", "tok-admin-123"], ["svc", "read", "tok-read-456"]);
    const value = await sessionValue(SECRET, await sha256("tok-admin-123"), sid, NOW + SESSION_MAX_AGE_S);
    expect(value).not.toContain("tok-admin-123");
    expect(value).not.toContain(toHex(new Uint8Array(await sha256("tok-admin-123"))).slice(0, 16));
    expect(await openSessionValue(SECRET, value, NOW, configured)).toEqual({
      sid: "AAcOFRwjKjE4P0ZNVFtiaQ",
      expiresAtS: NOW + SESSION_MAX_AGE_S,
      principal: { name: "alice", scope: "admin" },
    });
    expect(await openSessionValue(SECRET, value, NOW + SESSION_MAX_AGE_S - 1, configured)).not.toBeNull();
    expect(await openSessionValue(SECRET, value, NOW + SESSION_MAX_AGE_S, configured)).toBeNull();
  });

  it("opens nothing once its token is rotated away, under another secret's binding, or malformed", async () => {
    const value = await sessionValue(SECRET, await sha256("tok-admin-123"), sid, NOW + 60);
    expect(await openSessionValue(SECRET, value, NOW, await tokens(["alice", "admin", "tok-admin-NEW"]))).toBeNull();
    const configured = await tokens(["alice", "admin", "tok-admin-123"]);
    expect(await openSessionValue("another-secret-that-is-long-enough-0123", value, NOW, configured)).toBeNull();
    const [v, s, exp, bind] = value.split(".") as [string, string, string, string];
    for (const bad of [
      `v2.${s}.${exp}.${bind}`,
      `${v}.${s}.${exp}`,
      `${v}.${s}.${exp}.${bind}.x`,
      `${v}.${s}.1e12.${bind}`,
      `${v}.${s}.${NOW + SESSION_MAX_AGE_S + 1}.${bind}`,
      `${v}.short.${exp}.${bind}`,
      "",
    ]) {
      expect(await openSessionValue(SECRET, bad, NOW, configured), bad).toBeNull();
    }
  });
});

describe("the session secret", () => {
  it("development and tests fall back to the local secret; production refuses a missing, short or local one", () => {
    expect(sessionSecretOf({ ENVIRONMENT: "test" })).toBe(DEV_SESSION_SECRET);
    expect(sessionSecretOf({ ENVIRONMENT: "development", SESSION_SECRET: "mine" })).toBe("mine");
    expect(sessionSecretOf({ ENVIRONMENT: "production", SESSION_SECRET: SECRET })).toBe(SECRET);
    for (const [secret, message] of [
      [undefined, /none is set/u],
      ["short", /at least 32 characters \(it has 5\)/u],
      [DEV_SESSION_SECRET, /refuses the local development SESSION_SECRET/u],
    ] as const) {
      for (const ENVIRONMENT of ["production", "staging"]) {
        expect(() => sessionSecretOf({ ENVIRONMENT, ...(secret === undefined ? {} : { SESSION_SECRET: secret }) })).toThrow(message);
      }
    }
  });
});
