/**
 * Bearer-token auth in three nested scopes: read (RAG services) < calibrate (rebuild hooks) < admin.
 *
 * Tokens come from Wrangler secrets READ_TOKENS, CALIBRATE_TOKENS, ADMIN_TOKENS: comma-separated `name:token`
 * entries (several per scope, for rotation; the name is what the audit log records). Comparison is constant time over
 * SHA-256 digests (crypto.subtle.timingSafeEqual needs equal lengths). With ENVIRONMENT=development and no tokens
 * configured, the documented local tokens dev-read, dev-calibrate and dev-admin apply; in production a Worker that
 * is configured with any of them, or with no token at all, refuses every request (503 misconfigured).
 */
import type { Scope } from "../contract";
import { sha256 } from "./digest";
import { AppError } from "./errors";

export type { Scope };

const RANK: Record<Scope, number> = { read: 0, calibrate: 1, admin: 2 };

/** Does a token of scope `held` grant `needed`? (admin includes calibrate includes read) */
export const grants = (held: Scope, needed: Scope): boolean => RANK[held] >= RANK[needed];

/**
 * Only ENVIRONMENT "development" (npm start) and "test" (vitest) relax production rules; anything else, including a
 * typo like "Production" or "staging", is production: dev tokens refused, webhook targets restricted.
 */
export const isProduction = (environment: string | undefined): boolean => environment !== "development" && environment !== "test";

export const DEV_TOKENS: Readonly<Record<Scope, string>> = { read: "dev-read", calibrate: "dev-calibrate", admin: "dev-admin" };

export interface Principal {
  readonly name: string;
  readonly scope: Scope;
}

interface ConfiguredToken extends Principal {
  readonly digest: ArrayBuffer;
}

export interface AuthEnv {
  readonly ENVIRONMENT?: string;
  readonly READ_TOKENS?: string;
  readonly CALIBRATE_TOKENS?: string;
  readonly ADMIN_TOKENS?: string;
}

function parseEntries(raw: string | undefined, scope: Scope): { name: string; token: string; scope: Scope }[] {
  if (raw === undefined || raw.trim() === "") return [];
  return raw
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "")
    .map((entry, i) => {
      const colon = entry.indexOf(":");
      return colon > 0
        ? { name: entry.slice(0, colon), token: entry.slice(colon + 1), scope }
        : { name: `${scope}-token-${i + 1}`, token: entry, scope };
    });
}

/** The tokens this environment accepts; throws AppError("misconfigured") for an unsafe production setup. */
export async function loadTokens(env: AuthEnv): Promise<ConfiguredToken[]> {
  const production = isProduction(env.ENVIRONMENT);
  let entries = [
    ...parseEntries(env.READ_TOKENS, "read"),
    ...parseEntries(env.CALIBRATE_TOKENS, "calibrate"),
    ...parseEntries(env.ADMIN_TOKENS, "admin"),
  ];
  const devValues = new Set(Object.values(DEV_TOKENS));
  if (production) {
    if (entries.length === 0) {
      throw new AppError(
        "misconfigured",
        "no API tokens are configured: set READ_TOKENS, CALIBRATE_TOKENS and ADMIN_TOKENS with `wrangler secret put`",
      );
    }
    if (entries.some((e) => devValues.has(e.token))) {
      throw new AppError(
        "misconfigured",
        "a production deploy refuses the local development tokens (dev-read, dev-calibrate, dev-admin): rotate them with `wrangler secret put`",
      );
    }
  } else if (entries.length === 0) {
    entries = (Object.keys(DEV_TOKENS) as Scope[]).map((scope) => ({ name: DEV_TOKENS[scope], token: DEV_TOKENS[scope], scope }));
  }
  return Promise.all(entries.map(async (e) => ({ name: e.name, scope: e.scope, digest: await sha256(e.token) })));
}

function equalDigests(a: ArrayBuffer, b: ArrayBuffer): boolean {
  // crypto.subtle.timingSafeEqual is a workerd extension; Node (unit tests) has no such method on subtle.
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual?: (a: ArrayBuffer, b: ArrayBuffer) => boolean };
  if (subtle.timingSafeEqual) return subtle.timingSafeEqual(a, b);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.min(x.length, y.length); i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

/** The bearer token of an Authorization header, or 401. */
export function bearerToken(header: string | undefined): string {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/iu.exec(header);
  if (match !== null) return match[1]!;
  const send = "send `Authorization: Bearer <token>`";
  if (header === undefined || header.trim() === "") throw new AppError("unauthorized", `missing bearer token: ${send}`);
  // Never the credentials: a scheme is named only when it is a known one followed by something ("Token x", "Basic
  // x"); a bare token (`Authorization: $TOKEN`, a common curl slip) or anything else is not repeated, as the 401 body
  // reaches CI logs and proxies' captures.
  const words = header.trim().split(/\s+/u);
  const scheme = words[0]!;
  const bearer = /^Bearer$/iu.test(scheme);
  const known = words.length > 1 && KNOWN_SCHEMES.has(scheme.toLowerCase());
  // "Bearer:" or a quoted "\"Bearer": the word is there with punctuation around it, which is no secret to repeat
  const misspelt = words.length > 1 && !bearer && /^["']?Bearer["':;,=]*$/iu.test(scheme);
  // "Bearer Bearer x": a token configured with its scheme (`--token "Bearer x"`, TOKEN="Bearer x"), which the client
  // sent after its own "Bearer "; the second word is the scheme, no secret
  const doubled = bearer && words.length === 3 && /^Bearer$/iu.test(words[1]!);
  throw new AppError(
    "unauthorized",
    bearer && words.length === 1
      ? `missing bearer token after "Bearer": ${send}`
      : doubled
        ? `the token itself starts with "Bearer" (the header reads "Bearer Bearer ..."): configure the token alone, without "Bearer ", and the client sends the header`
        : bearer
          ? `the Authorization header holds more than one token (two Authorization headers?): ${send} once`
          : misspelt
            ? `the Authorization header's scheme is written ${JSON.stringify(scheme)}: ${send}, the word Bearer, a space, then the token`
            : known
              ? `the Authorization header uses the ${JSON.stringify(scheme)} scheme: ${send}`
              : `the Authorization header does not start with "Bearer " (a token without its scheme?): ${send}`,
  );
}

/** Authorization schemes a 401 may name (IANA's HTTP Authentication Scheme Registry and common API conventions). */
const KNOWN_SCHEMES = new Set([
  "basic",
  "digest",
  "token",
  "negotiate",
  "ntlm",
  "hoba",
  "mutual",
  "dpop",
  "gnap",
  "privatetoken",
  "concealed",
  "vapid",
  "scram-sha-1",
  "scram-sha-256",
  "aws4-hmac-sha256",
  "apikey",
  "api-key",
  "key",
  "jwt",
  "oauth",
]);

/** The principal of a presented token, compared in constant time against every configured token, or 401. */
export async function verifyToken(token: string, tokens: readonly ConfiguredToken[]): Promise<Principal> {
  const presented = await sha256(token);
  let found: ConfiguredToken | null = null;
  // Compare against every token (no early exit), so timing does not reveal which one matched.
  for (const t of tokens) if (equalDigests(presented, t.digest) && found === null) found = t;
  if (found === null) {
    // local development without configured tokens (the documented dev tokens are the only ones): say which they are
    const local = tokens.length > 0 && tokens.every((t) => t.name === DEV_TOKENS[t.scope]);
    throw new AppError("unauthorized", `unknown bearer token${local ? " (this local server takes dev-read, dev-calibrate or dev-admin)" : ""}`);
  }
  return { name: found.name, scope: found.scope };
}

/** 403 unless the principal's scope grants `needed`. */
export function authorize(principal: Principal, needed: Scope): Principal {
  if (!grants(principal.scope, needed)) {
    throw new AppError("forbidden", `this endpoint needs the ${needed} scope; the token "${principal.name}" has ${principal.scope}`);
  }
  return principal;
}
