/**
 * The pieces every alert-number layout is built of (alert-numbers.tsx, alert-shift-numbers.tsx): a labelled group of
 * numbers, a calibration's rows, the evidence against its level, points, and a number read from stored details.
 */
import type { Child } from "hono/jsx";
import { fixed } from "../charts/scale";
import { when } from "./layout";

/** The calibration's id and index version, the first rows of a "Calibration" group. */
export function CalibrationRows(props: { id: string; version: string }) {
  return (
    <>
      <dt>Id</dt>
      <dd>
        <code>{props.id}</code>
      </dd>
      <dt>Index version</dt>
      <dd>{props.version}</dd>
    </>
  );
}

/**
 * The evidence against its alarm level, and since when it accumulates. `name` is the statistic's name as the summary
 * and docs/drift.md write it: ln R for the drift windows' change detector, ln E for the coverage test's e-value.
 */
export function EvidenceRows(props: { name: "ln R" | "ln E"; log: number; level: number; sinceLabel: string; since: string | null }) {
  return (
    <>
      <dt>{props.name}</dt>
      <dd data-field="evidence">
        {fixed(props.log, 1)} (alarm at {fixed(props.level, 1)})
      </dd>
      <dt>{props.sinceLabel}</dt>
      <dd>{when(props.since)}</dd>
    </>
  );
}

/** A labelled group of numbers. */
export function Group(props: { title: string; field: string; children: Child }) {
  return (
    <section class="panel" data-group={props.field} aria-label={props.title}>
      <h3>{props.title}</h3>
      <dl class="kv numbers">{props.children}</dl>
    </section>
  );
}

/** A number of an alert's details, or null (details are stored JSON: read, not trusted). */
export const numberOf = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);
