import { Hono } from "hono";
import { ActivateBody, CalibrationId, HistoryQuery, ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import type { CalibrationDeps } from "./deps";
import { AppError } from "../platform/errors";
import { readJson } from "../platform/http/body";
import { validate } from "../platform/http/validate";
import { once, requestHash } from "../platform/idempotency";
import { MAX_SMALL_BODY_BYTES } from "../platform/limits";
import { handle } from "../platform/routing";
import { activate } from "./activation";
import { calibrate } from "./calibrate";
import { describe, getCalibration, history, listGates } from "./registry";
import { parseCalibrationUpload, readCalibrationUpload } from "./upload";

const calibrationIdParam = (raw: string): string => {
  const r = CalibrationId.safeParse(raw);
  if (!r.success) throw new AppError("not_found", `calibration ${JSON.stringify(raw)} does not exist`);
  return r.data;
};

export const calibrationRoutes = new Hono<RouteEnv<CalibrationDeps>>();

handle(calibrationRoutes, ROUTES.createCalibration, async (c) => {
  const raw = await readCalibrationUpload(c.req.raw);
  const deps = c.get("deps");
  const actor = c.get("principal").name;
  const key = c.req.header("idempotency-key");
  const hash = key === undefined ? "" : await requestHash([raw.type, JSON.stringify(Object.entries(raw.params).sort()), raw.bytes]);
  const outcome = await once(deps.idempotency, actor, key, hash, deps.now(), async () => {
    const input = parseCalibrationUpload(raw);
    const result = await calibrate(input, actor, deps);
    return { status: 201, body: { calibration: await describe(result.calibration, deps), shift: result.shift, warnings: result.warnings } };
  });
  if (outcome.replayed) c.header("Idempotent-Replayed", "true");
  return c.json(outcome.body, outcome.status as 201);
});

handle(calibrationRoutes, ROUTES.listCalibrations, async (c) => {
  const q = validate(HistoryQuery, c.req.query(), "bad_request", "query parameters");
  return c.json(await history(q, q.limit, q.cursor, c.get("deps")));
});

handle(calibrationRoutes, ROUTES.getCalibration, async (c) => c.json(await getCalibration(calibrationIdParam(c.req.param("id")!), c.get("deps"))));

handle(calibrationRoutes, ROUTES.activateCalibration, async (c) => {
  const id = calibrationIdParam(c.req.param("id")!);
  const body = validate(ActivateBody, await readJson(c.req.raw, MAX_SMALL_BODY_BYTES, { allowEmpty: true }), "invalid_input", "activation");
  const deps = c.get("deps");
  const result = await activate(id, c.get("principal").name, body.reason ?? null, deps);
  return c.json({
    activation: result.activation,
    calibration: await describe(result.calibration, deps),
    shift: result.shift,
    warnings: result.warnings,
  });
});

handle(calibrationRoutes, ROUTES.listGates, async (c) => c.json({ gates: await listGates(c.get("deps")) }));
