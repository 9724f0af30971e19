import { Hono } from "hono";
import { ROUTES } from "../contract";
import type { RouteEnv } from "../platform/env";
import { handle } from "../platform/http/handle";
import { activate, previewActivation } from "./activation";
import type { CalibrationDeps } from "./deps";
import { describe, getCalibration, history, listGatesPage } from "./registry";
import { readCalibrationUpload } from "./upload";
import { uploadCalibration } from "./upload-service";

export const calibrationRoutes = new Hono<RouteEnv<CalibrationDeps>>();

// The upload reads its own body (JSON, NDJSON or float32) and checks its query (float32 carries its fields there);
// upload-service.ts runs it once per Idempotency-Key, or as a dry run.
handle(calibrationRoutes, ROUTES.createCalibration, async (c) => {
  const raw = await readCalibrationUpload(c.req.raw);
  const answer = await uploadCalibration(raw, c.get("principal").name, c.req.header("idempotency-key"), c.get("deps"));
  if (answer.replayed) c.header("Idempotent-Replayed", "true");
  return c.json(answer.body, answer.status);
});

handle(calibrationRoutes, ROUTES.listCalibrations, async (c, { query }) =>
  c.json(await history(query, query.limit, query.cursor, c.get("deps")), 200),
);

handle(calibrationRoutes, ROUTES.getCalibration, async (c, { params }) => c.json(await getCalibration(params.id, c.get("deps")), 200));

handle(calibrationRoutes, ROUTES.activateCalibration, { body: "activation" }, async (c, { params, body }) => {
  const deps = c.get("deps");
  if (body.dry_run === true) {
    const preview = await previewActivation(params.id, deps);
    const calibration = await describe(preview.calibration, deps);
    const { shift, warnings, alreadyCurrent } = preview;
    return c.json({ activation: null, calibration, shift, warnings, dry_run: true, already_current: alreadyCurrent }, 200);
  }
  const result = await activate(params.id, c.get("principal").name, body.reason ?? null, deps);
  const calibration = await describe(result.calibration, deps);
  // the alert this activation raised is named where the answer says it alerted, as the calibration's report names it
  const alertId = result.shift?.alert === true ? calibration.shift?.alert_id : undefined;
  return c.json(
    {
      activation: result.activation,
      calibration,
      shift: alertId === undefined || result.shift === null ? result.shift : { ...result.shift, alert_id: alertId },
      warnings: result.warnings,
      dry_run: false,
      already_current: result.alreadyCurrent,
    },
    200,
  );
});

handle(calibrationRoutes, ROUTES.listGates, async (c, { query }) => c.json(await listGatesPage(query.limit, query.cursor, c.get("deps")), 200));
