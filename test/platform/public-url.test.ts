/**
 * PUBLIC_URL (src/platform/public-url.ts): what the Worker links alert webhooks from, and the deploy guard's copy of
 * its check (scripts/check-deploy-config.mjs), which must refuse exactly what the Worker refuses, saying the same.
 */
import { describe, expect, it } from "vitest";
import { publicUrlProblem as guardProblem, varProblems } from "../../scripts/check-deploy-config.mjs";
import { publicUrlOf, publicUrlProblem } from "../../src/platform/public-url";

const cases: [string, string | null, string | null][] = [
  // value, the problem, the URL links are made from
  ["https://scoregate.example.com", null, "https://scoregate.example.com"],
  ["https://scoregate.example.com/", null, "https://scoregate.example.com"],
  ["  https://Scoregate.Example.com:8443/ops/ml//  ", null, "https://scoregate.example.com:8443/ops/ml"],
  ["http://localhost:8787", null, "http://localhost:8787"],
  ["http://127.0.0.1:8787/", null, "http://127.0.0.1:8787"],
  ["", null, null],
  ["   ", null, null],
  ["scoregate.example.com", "is not an absolute URL such as https://scoregate.example.com", null],
  ["http://scoregate.example.com", "must start with https:// (http:// only for localhost)", null],
  ["ftp://scoregate.example.com", "must start with https:// (http:// only for localhost)", null],
  ["https://ops:secret@scoregate.example.com", "must not hold a user name or password", null],
  ["https://scoregate.example.com/?team=ml", "must not hold a query (?) or fragment (#)", null],
  ["https://scoregate.example.com/#alerts", "must not hold a query (?) or fragment (#)", null],
  ["https://scoregate.example.com/?", "must not hold a query (?) or fragment (#)", null],
  ["https://scoregate.example.com/a|b", "may hold only letters, digits and . _ ~ - / in its path", null],
  ["https://scoregate.example.com/a&b", "may hold only letters, digits and . _ ~ - / in its path", null],
  ["https://scoregate.example.com/a>b", "may hold only letters, digits and . _ ~ - / in its path", null],
  ["https://scoregate.example.com/équipe", "may hold only letters, digits and . _ ~ - / in its path", null],
];

describe("PUBLIC_URL", () => {
  it.each(cases)("%j: %s", (value, problem, linked) => {
    expect(publicUrlProblem(value)).toBe(problem);
    expect(publicUrlOf(value)).toBe(linked);
  });

  it("outside production (ENVIRONMENT development or test) takes http:// for any host, and refuses the rest alike", () => {
    expect(publicUrlProblem("http://192.168.1.20:8787", false)).toBeNull();
    expect(publicUrlOf("http://devbox.lan:8787/", false)).toBe("http://devbox.lan:8787");
    expect(publicUrlProblem("http://192.168.1.20:8787")).toBe("must start with https:// (http:// only for localhost)");
    expect(publicUrlProblem("ftp://devbox.lan", false)).toBe("must start with https:// or http://");
    expect(publicUrlProblem("http://devbox.lan/?x=1", false)).toBe("must not hold a query (?) or fragment (#)");
  });

  it("unset links nothing", () => {
    expect(publicUrlOf(undefined)).toBeNull();
  });

  it("the deploy guard refuses exactly what the Worker refuses, with the same words", () => {
    for (const [value, problem] of cases) expect(guardProblem(value), value).toBe(problem);
  });

  it("the deploy guard names it in wrangler.toml and as a --var, and passes a valid one", () => {
    const toml = '[vars]\nENVIRONMENT = "production"\nPUBLIC_URL = "http://scoregate.example.com"\n';
    expect(varProblems(toml)).toEqual([
      'PUBLIC_URL = "http://scoregate.example.com" in wrangler.toml must start with https:// (http:// only for localhost): the Worker would answer 503 misconfigured on /healthz',
    ]);
    expect(varProblems(toml, { PUBLIC_URL: "https://scoregate.example.com" })).toEqual([]);
  });
});
