// A mistyped token on a local server (`npm start`, no tokens configured) is told which tokens that server takes; a
// server with configured tokens never names any.
import { describe, expect, it } from "vitest";
import { bearerToken, loadTokens, verifyToken } from "../../src/platform/auth";
import { AppError } from "../../src/platform/errors";

const refusal = async (token: string, tokens: Awaited<ReturnType<typeof loadTokens>>) => {
  const e = await verifyToken(token, tokens).then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  expect((e as AppError).code).toBe("unauthorized");
  return (e as AppError).message;
};

describe("an unknown bearer token", () => {
  it("on a local development server names the local tokens", async () => {
    const tokens = await loadTokens({ ENVIRONMENT: "development" });
    expect(await refusal("dev-reader", tokens)).toBe("unknown bearer token (this local server takes dev-read, dev-calibrate or dev-admin)");
    expect(await verifyToken("dev-read", tokens)).toEqual({ name: "dev-read", scope: "read" });
  });

  it("on a server with configured tokens names none", async () => {
    for (const ENVIRONMENT of ["development", "production"]) {
      const tokens = await loadTokens({ ENVIRONMENT, READ_TOKENS: "svc:s3cret-read", ADMIN_TOKENS: "alice:s3cret-admin" });
      expect(await refusal("dev-read", tokens)).toBe("unknown bearer token");
    }
  });
});

describe("an Authorization header that is not one bearer token", () => {
  const refused = (header: string | undefined) => {
    try {
      bearerToken(header);
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe("unauthorized");
      return (e as AppError).message;
    }
    throw new Error("accepted");
  };

  it("says what is wrong with it, naming the scheme but never the credentials", () => {
    expect(refused(undefined)).toBe("missing bearer token: send `Authorization: Bearer <token>`");
    expect(refused("  ")).toBe("missing bearer token: send `Authorization: Bearer <token>`");
    expect(refused("Token dev-read")).toBe('the Authorization header uses the "Token" scheme: send `Authorization: Bearer <token>`');
    expect(refused("Basic ZGV2OnJlYWQ=")).not.toContain("ZGV2");
    expect(refused("Bearer dev-read, Bearer dev-admin")).toBe(
      "the Authorization header holds more than one token (two Authorization headers?): send `Authorization: Bearer <token>` once",
    );
    expect(refused("Bearer ")).toBe('missing bearer token after "Bearer": send `Authorization: Bearer <token>`');
    expect(bearerToken("bearer dev-read ")).toBe("dev-read");
  });

  it('a token configured with its scheme (`--token "Bearer x"`, sent as `Bearer Bearer x`) is named so, without the token', () => {
    const doubled =
      'the token itself starts with "Bearer" (the header reads "Bearer Bearer ..."): configure the token alone, without "Bearer ", and the client sends the header';
    expect(refused("Bearer Bearer dev-read")).toBe(doubled);
    expect(refused("bearer  BEARER sgk_9f8e7d6c5b4a39281706f5e4d3c2b1a0 ")).toBe(doubled);
    // two tokens are still two tokens
    expect(refused("Bearer dev-read Bearer")).toContain("more than one token");
  });

  it("a bare token (the scheme left out) or an unknown first word is never repeated, whatever its length", () => {
    const bare = 'the Authorization header does not start with "Bearer " (a token without its scheme?): send `Authorization: Bearer <token>`';
    for (const header of ["sgk_9f8e7d6c5b4a39281706f5e4d3c2b1a0", "dev-admin", "dev-admin extra", "Bearer_x y", "x".repeat(5)]) {
      expect(refused(header), header).toBe(bare); // one fixed sentence: nothing of the header in it
    }
    // a known scheme is named (it is no secret), its credentials are not
    expect(refused("Basic ZGV2OnJlYWQ=")).toBe('the Authorization header uses the "Basic" scheme: send `Authorization: Bearer <token>`');
    expect(refused("Token")).toBe(bare); // a scheme alone could be a token that happens to read as one
    // the word is there, with punctuation: said so, with nothing of the token
    expect(refused("Bearer: dev-read")).toBe(
      'the Authorization header\'s scheme is written "Bearer:": send `Authorization: Bearer <token>`, the word Bearer, a space, then the token',
    );
    expect(refused('"Bearer dev-read"')).toBe(
      'the Authorization header\'s scheme is written "\\"Bearer": send `Authorization: Bearer <token>`, the word Bearer, a space, then the token',
    );
  });
});
