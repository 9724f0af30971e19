/** The calibration operations of the route table: uploads, a gate's history, activation, and the gates. */
import { BinaryUploadQuery, CalibrationUpload, NDJSON_MEDIA_TYPES } from "./calibration-upload";
import { Calibration, CalibrationCreated } from "./calibrations";
import { CalibrationId } from "./common";
import { ActivationResult, CalibrationHistory, GateList } from "./envelopes";
import { MAX_IDEMPOTENCY_KEY_LENGTH } from "./limits";
import { IDEMPOTENCY_KEY, json, type RouteSpec } from "./route-spec";
import { ActivateBody, HistoryQuery, Pagination } from "./serving";

/** An NDJSON upload, under each of its content types. */
const NDJSON = { description: "line 1: the calibration's fields without scores; then one score or one query per line" } as const;

export const calibrationRoutes = {
  createCalibration: {
    method: "post",
    path: "/v1/calibrations",
    tag: "calibrations",
    scope: "calibrate",
    summary: "Fit and store a calibration (JSON, NDJSON or float32)",
    headers: [
      {
        name: IDEMPOTENCY_KEY,
        maxLength: MAX_IDEMPOTENCY_KEY_LENGTH,
        description: "replays the first response to a retried upload",
      },
    ],
    body: {
      required: true,
      content: {
        "application/json": CalibrationUpload,
        ...Object.fromEntries(NDJSON_MEDIA_TYPES.map((type) => [type, NDJSON])),
        "application/octet-stream": {
          description: "little-endian float32 scores; the other fields as query parameters",
          format: "binary",
          query: BinaryUploadQuery,
        },
      },
    },
    responses: {
      200: { description: "dry run (dry_run: true): the same answer, nothing stored, activated or raised", schema: CalibrationCreated },
      201: { description: "created", schema: CalibrationCreated },
    },
    errors: [400, 409, 413, 415, 422],
  },
  listCalibrations: {
    method: "get",
    path: "/v1/calibrations",
    tag: "calibrations",
    scope: "read",
    summary: "History of a gate, newest first",
    query: HistoryQuery,
    responses: { 200: { description: "a page", schema: CalibrationHistory } },
    errors: [400, 404],
  },
  getCalibration: {
    method: "get",
    path: "/v1/calibrations/{id}",
    params: { id: CalibrationId },
    tag: "calibrations",
    scope: "read",
    summary: "One calibration",
    responses: { 200: { description: "the calibration", schema: Calibration } },
    errors: [404],
  },
  activateCalibration: {
    method: "post",
    path: "/v1/calibrations/{id}/activate",
    params: { id: CalibrationId },
    tag: "calibrations",
    scope: "admin",
    summary: "Promote or roll back",
    body: json(ActivateBody, false),
    responses: { 200: { description: "activated", schema: ActivationResult } },
    // 409: the gate changed concurrently MAX_ACTIVATION_ATTEMPTS times while the activation was computed
    errors: [400, 404, 409, 413, 415, 422],
  },
  listGates: {
    method: "get",
    path: "/v1/gates",
    tag: "calibrations",
    scope: "read",
    summary: "Gates with their active calibrations, in creation order, a page at a time",
    query: Pagination,
    responses: { 200: { description: "a page of gates", schema: GateList } },
    errors: [400],
  },
} as const satisfies Record<string, RouteSpec>;
