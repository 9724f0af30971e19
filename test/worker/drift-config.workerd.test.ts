import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/platform/errors";
import { DEFAULT_DRIFT_CONFIG } from "../../src/stats/drift-config";
import { driftConfig } from "../../src/worker/wiring";

const refusal = (vars: Record<string, string>): AppError => {
  try {
    driftConfig({ ...env, ...vars });
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(vars)}`);
};

describe("driftConfig", () => {
  it("takes values inside the ranges, and the defaults when unset or empty", () => {
    expect(driftConfig({ ...env, DRIFT_ALPHA: "0.4999", DRIFT_TOLERANCE: "0" })).toMatchObject({ alpha: 0.4999, tolerance: 0 });
    expect(driftConfig({ ...env, DRIFT_ALPHA: " ", DRIFT_TOLERANCE: "" })).toMatchObject({
      alpha: DEFAULT_DRIFT_CONFIG.alpha,
      tolerance: DEFAULT_DRIFT_CONFIG.tolerance,
    });
  });

  it.each(["0.7", "0.5", "0", "-0.1", "0,001", "NaN", "Infinity"])("DRIFT_ALPHA=%s is a misconfiguration naming the range", (raw) => {
    const e = refusal({ DRIFT_ALPHA: raw });
    expect(e.code).toBe("misconfigured");
    expect(e.message).toBe(
      `DRIFT_ALPHA=${JSON.stringify(raw)} is not valid: use a number above 0 and below 0.5 (default ${DEFAULT_DRIFT_CONFIG.alpha})`,
    );
  });

  it.each(["1", "-0.01", "2 points"])("DRIFT_TOLERANCE=%s is a misconfiguration naming the range", (raw) => {
    const e = refusal({ DRIFT_TOLERANCE: raw });
    expect(e.code).toBe("misconfigured");
    expect(e.message).toBe(
      `DRIFT_TOLERANCE=${JSON.stringify(raw)} is not valid: use a number at least 0 and below 1 (default ${DEFAULT_DRIFT_CONFIG.tolerance})`,
    );
  });
});
