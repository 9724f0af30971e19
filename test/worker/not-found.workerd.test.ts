/**
 * A request no route takes: 404 with code not_found and the method and path it asked for; when the path has an empty
 * segment (`//` or a trailing `/`: an id left out, as an unset shell variable leaves it in the README's walk-through),
 * the message says so. A known path asked with a method it does not take is a 405 with its `Allow` methods.
 */
import { describe, expect, it } from "vitest";
import { call } from "../support/worker";

const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

describe("a request no route takes", () => {
  it("answers 404 not_found naming the method and the path", async () => {
    const res = await call("GET", "/v1/nothing-here");
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toEqual({ code: "not_found", message: "no route for GET /v1/nothing-here" });
  });

  it.each([
    ["POST", "/v1/calibrations//activate"],
    ["GET", "/v1/calibrations//"],
    ["GET", "//v1/gates"],
    ["GET", "/v1/calibrations/"],
    ["DELETE", "/v1/webhooks/"],
  ])("%s %s (an empty segment) says a path segment is empty, still 404 not_found", async (method, path) => {
    const res = await call(method, path);
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toEqual({
      code: "not_found",
      message: `no route for ${method} ${path}: a path segment is empty (an id or a name is missing, e.g. an unset shell variable)`,
    });
  });

  it("the root path is no empty segment: a POST to it is a 405", async () => {
    const res = await call("POST", "/");
    expect([res.status, res.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
    expect(await errorOf(res)).toEqual({ code: "method_not_allowed", message: "POST is not allowed on /: this path takes GET" });
  });

  it.each([
    ["DELETE", "/v1/threshold", "GET, HEAD", "GET"],
    ["PUT", "/v1/calibrations/cal_01abc/activate", "POST", "POST"],
    ["POST", "/v1/gates", "GET, HEAD", "GET"],
    ["PUT", "/v1/webhooks/whk_1", "PATCH, DELETE", "PATCH and DELETE"],
  ])("%s %s: 405 method_not_allowed with Allow: %s, and nothing done", async (method, path, allow, takes) => {
    const res = await call(method, path);
    expect([res.status, res.headers.get("allow")]).toEqual([405, allow]);
    expect(await errorOf(res)).toEqual({ code: "method_not_allowed", message: `${method} is not allowed on ${path}: this path takes ${takes}` });
  });

  it("HEAD of a GET route is answered by it, not refused", async () => {
    const res = await call("HEAD", "/");
    expect(res.status).toBe(200);
  });

  it.each([
    ["GET", "/v1/calibration", " (did you mean GET /v1/calibrations?)"],
    ["GET", "/v1/treshold", " (did you mean GET /v1/threshold?)"],
    ["POST", "/v1/calibration/cal_01abc/activate", " (did you mean POST /v1/calibrations/cal_01abc/activate?)"],
    ["POST", "/v1/alert/alr_9/resolve", " (did you mean POST /v1/alerts/alr_9/resolve?)"],
    ["GET", "/docs/", ": a path segment is empty (an id or a name is missing, e.g. an unset shell variable)"],
    ["GET", "/dcos", " (did you mean GET /docs?)"],
    ["GET", "/v1/nothing-here", ""],
    ["POST", "/v1/gates/g1/promotion", ""],
  ])("%s %s: a known path's methods, or the nearest known path", async (method, path, hint) => {
    const res = await call(method, path);
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toEqual({ code: "not_found", message: `no route for ${method} ${path}${hint}` });
  });

  it("a path longer than a real one gets no hint: the nearest path costs an edit distance per route, quadratic in its length", async () => {
    // hinted when short: a typo of the activate route
    const id = "a".repeat(100);
    const near = await call("POST", `/v1/calibrations/${id}/activatex`);
    expect((await errorOf(near)).message).toBe(
      `no route for POST /v1/calibrations/${id}/activatex (did you mean POST /v1/calibrations/${id}/activate?)`,
    );
    // the same typo past MAX_HINTED_PATH_LENGTH (200): no hint, however near, and no CPU spent on one
    for (const long of ["a".repeat(250), "a".repeat(20_000)]) {
      const res = await call("POST", `/v1/calibrations/${long}/activatex`);
      expect(res.status).toBe(404);
      expect((await errorOf(res)).message).toBe(`no route for POST /v1/calibrations/${long}/activatex`);
    }
  });
});
