/**
 * An alert record as the store keeps a newly raised one (src/alerts/lifecycle.ts, openedAlert: open, seen once, nobody
 * acknowledged or resolved it), for tests that seed the alert store or serve an alert from a stub server: they name
 * what they are about and take the rest from there (`at`: when it was first and last seen, unless they are named).
 */
import { openedAlert } from "../../src/alerts/lifecycle";
import type { Alert } from "../../src/contract";

export function openAlert(fields: Pick<Alert, "id" | "gate_id" | "gate" | "kind"> & Partial<Alert> & { readonly at?: string }): Alert {
  const { at = "2026-12-01T00:00:00.000Z", ...named } = fields;
  const summary = named.summary ?? `seeded ${named.kind}`;
  return {
    ...openedAlert(named.id, { ...named, summary, details: named.details ?? {}, calibration_ids: named.calibration_ids ?? [] }, at),
    ...named,
  };
}
