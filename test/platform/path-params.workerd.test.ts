/**
 * Path parameters of a declared form (the route table's `params`: a calibration id, a gate id) are checked by
 * handle() from the table: a value of another form names nothing and is answered as an unknown one, a 404 in the
 * contract's words (PARAM_NAMES), the whole answer as it was when each feature parsed its own. The promotion and
 * shadow routes, whose ids had no parser of their own, get the same check: a malformed id there is now this 404,
 * before their query, content type and body are read (it was a 400, 415 or 422 about those, or an unquoted 404).
 */
import { describe, expect, it } from "vitest";
import { MAX_SHOWN_ID_CHARACTERS } from "../../src/platform/format";
import { call, TOKENS } from "../support/worker";

/** The whole answer: status, and the body as bytes. */
async function answer(res: Response): Promise<[number, string]> {
  return [res.status, await res.text()];
}

const notFound = (message: string): [number, string] => [404, JSON.stringify({ error: { code: "not_found", message } })];

describe("path parameters of another form than the route table declares", () => {
  it("a calibration id: 404 naming the calibration, on the read and the activation alike (nothing activated)", async () => {
    expect(await answer(await call("GET", "/v1/calibrations/not-an-id", { token: TOKENS.read }))).toEqual(
      notFound('calibration "not-an-id" does not exist'),
    );
    // checked before the body is read: a valid body does not get past it
    expect(await answer(await call("POST", "/v1/calibrations/cal_SHOUTING0000/activate", { json: { reason: "x" } }))).toEqual(
      notFound('calibration "cal_SHOUTING0000" does not exist'),
    );
    // decoded as the path's other parameters are, and repeated as JSON
    expect(await answer(await call("GET", "/v1/calibrations/a%22b%20c", { token: TOKENS.read }))).toEqual(
      notFound('calibration "a\\"b c" does not exist'),
    );
  });

  it("the promotion and shadow routes: a malformed id is 404 before the query, content type or body is read", async () => {
    expect(await answer(await call("GET", "/v1/gates/not-a-gate/promotions?limit=abc", { token: TOKENS.read }))).toEqual(
      notFound('gate "not-a-gate" does not exist'),
    );
    expect(await answer(await call("POST", "/v1/calibrations/not-an-id/promote", { json: { steps: "bad" } }))).toEqual(
      notFound('calibration "not-an-id" does not exist'),
    );
    expect(await answer(await call("POST", "/v1/calibrations/not-an-id/promote", { body: "x", headers: { "content-type": "text/plain" } }))).toEqual(
      notFound('calibration "not-an-id" does not exist'),
    );
    expect(await answer(await call("POST", "/v1/calibrations/not-an-id/shadow", { json: { sample_rate: 5 } }))).toEqual(
      notFound('calibration "not-an-id" does not exist'),
    );
  });

  it("a gate id: 404 naming the gate; a long one repeated shortened", async () => {
    expect(await answer(await call("GET", "/v1/gates/not-a-gate/events", { token: TOKENS.read }))).toEqual(
      notFound('gate "not-a-gate" does not exist'),
    );
    const long = "f".repeat(3000);
    expect(await answer(await call("GET", `/v1/gates/${long}/events`, { token: TOKENS.read }))).toEqual(
      notFound(`gate "${"f".repeat(MAX_SHOWN_ID_CHARACTERS)}… (3,000 characters)" does not exist`),
    );
  });

  it("the scope check comes first: no token is a 401, not a 404", async () => {
    expect((await call("GET", "/v1/calibrations/not-an-id", { token: null })).status).toBe(401);
  });
});
