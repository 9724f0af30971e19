// A rebuild_shift alert's details, as GET /v1/alerts answers them, are the contract's (ShiftAlertDetails), no field
// more at any depth (the schema strips what it does not declare, so parsing changes nothing).
import { describe, expect, it } from "vitest";
import { ALERT_DETAILS } from "../../src/contract";
import { asQueries, callJson, qs, spreadScores, TOKENS, uniqueGate } from "../support/worker";

const upload = (gate: object, version: string, scores: number[], extra: object = {}) => ({
  token: TOKENS.calibrate,
  json: { ...gate, index_version: version, queries: asQueries(scores), policy: { kind: "drop_rate", target: 0.2 }, ...extra },
});

describe("alert details on the wire", () => {
  it("of a rebuild_shift are ShiftAlertDetails", async () => {
    const gate = uniqueGate("details-shift");
    await callJson("POST", "/v1/calibrations", 201, upload(gate, "v1", spreadScores(5000)));
    // v2 scores are 0.15 lower: the old threshold now drops ~35 %; its activation raises the alert
    const v2 = (await callJson("POST", "/v1/calibrations", 201, upload(gate, "v2", spreadScores(5000, -0.15), { activate: false }))).calibration;
    await callJson("POST", `/v1/calibrations/${v2.id}/activate`, 200);
    const [alert] = (await callJson("GET", `/v1/alerts?${qs({ ...gate, kind: "rebuild_shift" })}`, 200, { token: TOKENS.read })).alerts;
    expect(alert!.details).toMatchObject({ index_version: "v2", threshold: v2.threshold });
    expect(ALERT_DETAILS.rebuild_shift.parse(alert!.details)).toEqual(alert!.details);
    const page = await callJson("GET", `/v1/alerts/${alert!.id}/occurrences`, 200, { token: TOKENS.read });
    expect(ALERT_DETAILS.rebuild_shift.parse(page.occurrences[0]!.details)).toEqual(page.occurrences[0]!.details);
  });
});
