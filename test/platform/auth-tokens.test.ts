// A mistyped token on a local server (`npm start`, no tokens configured) is told which tokens that server takes; a
// server with configured tokens never names any.
import { describe, expect, it } from "vitest";
import { loadTokens, verifyToken } from "../../src/platform/auth";
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
