import { Hono } from "hono";
import type { AppBindings } from "../app-env";
import { requireScope } from "../http/auth-middleware";
import { parseCalibrationUpload, readCalibrationUpload } from "../http/calibration-upload";
import { once, requestHash } from "../services/idempotency";
import { readJson } from "../http/body";
import { validate } from "../http/validate";
import { MAX_SMALL_BODY_BYTES } from "../limits";
import { ActivateBody, CalibrationId, HistoryQuery } from "../schemas";
import { activate } from "../services/activate";
import { calibrate } from "../services/calibrate";
import { describe, getCalibration, history } from "../services/registry";
import { thresholdCache } from "./thresholds";
import { cachePrefixOf } from "../services/threshold-reader";
import { AppError } from "../errors";
import { shiftAlertListener } from "../services/shift-alert";

const calibrationIdParam = (raw: string): string => {
  const r = CalibrationId.safeParse(raw);
  if (!r.success) throw new AppError("not_found", `calibration ${JSON.stringify(raw)} does not exist`);
  return r.data;
};

export const calibrationRoutes = new Hono<AppBindings>()
  .post("/calibrations", requireScope("calibrate"), async (c) => {
    const raw = await readCalibrationUpload(c.req.raw);
    const deps = c.get("deps");
    const actor = c.get("principal").name;
    const key = c.req.header("idempotency-key");
    const hash = key === undefined ? "" : await requestHash([raw.type, JSON.stringify(Object.entries(raw.params).sort()), raw.bytes]);
    const outcome = await once(deps.idempotency, actor, key, hash, deps.now(), async () => {
      const input = parseCalibrationUpload(raw);
      const result = await calibrate(input, actor, deps, shiftAlertListener(deps));
      if (result.activated) thresholdCache.invalidatePrefix(cachePrefixOf(input.meta));
      return { status: 201, body: { calibration: await describe(result.calibration, deps), shift: result.shift, warnings: result.warnings } };
    });
    if (outcome.replayed) c.header("Idempotent-Replayed", "true");
    return c.json(outcome.body, outcome.status as 201);
  })
  .get("/calibrations", requireScope("read"), async (c) => {
    const q = validate(HistoryQuery, c.req.query(), "bad_request", "query parameters");
    return c.json(await history(q, q.limit, q.cursor, c.get("deps")));
  })
  .get("/calibrations/:id", requireScope("read"), async (c) => {
    return c.json(await getCalibration(calibrationIdParam(c.req.param("id")), c.get("deps")));
  })
  .post("/calibrations/:id/activate", requireScope("admin"), async (c) => {
    const id = calibrationIdParam(c.req.param("id"));
    const body = validate(ActivateBody, await readJson(c.req.raw, MAX_SMALL_BODY_BYTES, { allowEmpty: true }), "invalid_input", "activation");
    const deps = c.get("deps");
    const result = await activate(id, c.get("principal").name, body.reason ?? null, deps, shiftAlertListener(deps));
    thresholdCache.invalidatePrefix(cachePrefixOf(result.calibration));
    return c.json({
      activation: result.activation,
      calibration: await describe(result.calibration, deps),
      shift: result.shift,
      warnings: result.warnings,
    });
  });
