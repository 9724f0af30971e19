/**
 * What each alert kind means and what the person it pages should do, on the alert page right under its sentence (the
 * same advice as docs/drift.md, "What an alert means, and what to do", in words for the page: buttons and commands
 * rather than routes). An uncalibrated_request alert's layout has its own "What to do" (alert-uncalibrated.tsx).
 */
import type { AlertKind } from "../../contract";
import { UNSCORED_ALERT_SHARE } from "../../monitoring/unscored";

interface Guidance {
  /** What happened, in general terms (the sentence above says it with this alert's numbers). */
  readonly means: string;
  /** What to do next. */
  readonly todo: string;
}

const GUIDANCE: Readonly<Record<Exclude<AlertKind, "uncalibrated_request">, Guidance>> = {
  rebuild_shift: {
    means:
      "The newly served calibration's scores put the previous threshold at a very different drop rate: the reranker's score scale moved (a new embedding model, reranker checkpoint, chunking or corpus).",
    todo: "Nothing if the new calibration was intended: the gate now drops its calibrated share. Otherwise check the rebuild, and roll back with the previous calibration's Roll back button in the gate page's Calibration history.",
  },
  drop_rate_drift: {
    means:
      "Production drops a different share of candidates than the calibration predicts: the queries or the documents changed since the calibration, or services apply a stale threshold.",
    todo: "Compare the observed and expected drop rates below; check that services fetch the threshold (the calibration id in their batches); recalibrate from recent production scores (a rebuild hook or a new upload).",
  },
  empty_context: {
    means:
      "More queries than expected lose every candidate, so the LLM answers without context (for a min_keep gate: the guard binds more often than calibrated, feeding only the guard's candidates).",
    todo: "Check the query traffic for a new population of queries; consider a lower target drop rate, or min_keep in the policy.",
  },
  recall_drift: {
    means: "Judged production queries keep their relevant candidates less often than the calibration's recall guarantee promises.",
    todo: "Check the judged queries for a new population; recalibrate the recall gate with labels from recent traffic.",
  },
  abstention_drift: {
    means:
      "The share of queries that abstain (top score below abstain_below) moved away from the calibration's: the corpus or the query population changed, or the score scale moved.",
    todo: "Compare the observed and expected abstention rates below; if the scale moved (a drop_rate_drift often comes with it), recalibrate; if more questions really have no answer in the corpus, look at the corpus. A calibration certified with labels (alpha) no longer holds its false-abstention guarantee on this traffic: recalibrate with fresh labels to restore it.",
  },
  unscored_candidates: {
    means: `More than ${Math.round(UNSCORED_ALERT_SHARE * 100)} % of the candidates services reported in the gate's current window had no score: they passed the gate unjudged (the drift tests read the scored ones only).`,
    todo: "Look at the reranker's errors and latency (timeouts for part of its batches), the score key the adapter reads, and whether scores arrive as numbers; the gate page shows the share over time.",
  },
  promotion_paused: {
    means:
      "A guarded promotion stopped on a regression of its candidate arm (a shifted decision or a drift alarm): paused, it keeps serving its step's share of keyed traffic but no longer advances.",
    todo: "Read the step's numbers on the gate page (or scoregate promotion ID); resume the promotion once the regression is understood, or roll it back.",
  },
  promotion_rolled_back: {
    means: "A guarded promotion rolled back on a regression of its candidate arm: every request is served the control calibration again.",
    todo: "Read the step's numbers on the gate page (or scoregate promotion ID) to see what regressed; fix the candidate (or its calibration) before promoting again.",
  },
};

/**
 * The alert page's "What it means" and "What to do" for `kind`; null for a kind whose layout says it itself. A
 * resolved alert asks for nothing: its advice is kept, as what it asked, under the resolution (a promotion_paused alert
 * is resolved on its own once the pause is over: resuming or rolling back an ended promotion is no longer possible).
 * `promotion`: the gate page's section of the promotion a promotion alert is about.
 */
export function AlertGuidance(props: {
  kind: AlertKind;
  resolved?: boolean;
  promotion?: { readonly href: string; readonly id: string } | undefined;
}) {
  if (props.kind === "uncalibrated_request") return null;
  const g = GUIDANCE[props.kind];
  return (
    <dl class="kv guidance" data-field="guidance">
      <dt>What it means</dt>
      <dd data-field="means">{g.means}</dd>
      <dt>What to do</dt>
      <dd data-field="todo">
        {props.resolved ? <>Nothing: the alert is resolved (below, by whom and why). While it was open it asked: {g.todo}</> : g.todo}
        {props.promotion && (
          <>
            {" "}
            The promotion: <a href={props.promotion.href}>{props.promotion.id}</a> on the gate page.
          </>
        )}
      </dd>
    </dl>
  );
}
