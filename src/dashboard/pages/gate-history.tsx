/** The gate page's calibration history (with activate / roll back for admins) and its activation log. */
import { type Calibration, MAX_NOTE_LENGTH, type StoredPolicy } from "../../contract";
import { num, pct } from "../charts/scale";
import type { GateView } from "../data/gate";
import { NOW_WORDS, nowRole, versionName } from "./calibration-roles";
import { when } from "./layout";
import { Table } from "./table";

/**
 * A calibration's State when it is not the current one: what it is now, as the rest of the page names it (shadow,
 * promotion candidate (paused, rolled back), rolled back), else "inactive"; and, when reads pinned to its index version
 * still get it (`active`: the latest activation of its version), that as a note after its role, so a rolled-back v2
 * reads "rolled back (still served to reads pinned to v2)" as the legend and the rebuild card call it "rolled back".
 */
function stateOf(v: GateView, c: Pick<Calibration, "id" | "index_version" | "active">): string {
  const now = nowRole(v, c.id);
  const role = now === "not_served" || now === "served" ? null : NOW_WORDS[now];
  if (!c.active) return role ?? "inactive";
  const pinned = `served to reads pinned to ${c.index_version}`;
  return role === null ? pinned : `${role} (still ${pinned})`;
}

/**
 * The calibration an activation replaced, by its index version (with its id's end when another listed calibration has
 * the same version); the full id is its title and links to its row in the history above. An id the history does not
 * list (older than its first page) is shown as it is.
 */
function Replaced(props: { id: string | null; view: GateView }) {
  const id = props.id;
  if (id === null) return "–";
  const c = props.view.calibrations.find((x) => x.id === id);
  if (c === undefined) return <code>{id}</code>;
  return (
    <a href={`#calibration-${id}`} title={id}>
      {versionName(c, props.view.calibrations)}
    </a>
  );
}

/**
 * Activate or roll back to one calibration, with an optional reason: AdminForm's markup, with the reason field's id
 * derived from the calibration id alone (an HTML id holds no spaces; the button's accessible name keeps the words).
 */
function ActivateForm(props: { gateId: string; csrf: string; id: string; version: string; rollback: boolean }) {
  const reasonId = `reason-${props.id}`;
  const verb = props.rollback ? "Roll back" : "Activate";
  return (
    <form method="post" action={`/ui/gates/${props.gateId}/activate`} class="inline">
      <input type="hidden" name="csrf" value={props.csrf} />
      <input type="hidden" name="calibration_id" value={props.id} />
      <label for={reasonId} class="muted">
        Reason
      </label>
      <input id={reasonId} name="reason" type="text" maxlength={MAX_NOTE_LENGTH} size={14} />{" "}
      <button type="submit" aria-label={`${props.rollback ? "Roll back to" : "Activate"} ${props.version} ${props.id}`}>
        {verb}
      </button>
    </form>
  );
}

/**
 * A calibration's policy in a few words: its kind and target, and its guards and abstention when it has them
 * ("drop_rate 50 %, min_keep 2, max_keep 8, abstains (alpha 10 %)"), so a guarded, abstaining calibration does not read
 * as a bare "drop_rate".
 */
export function policyWords(p: StoredPolicy): string {
  const parts: string[] = [p.kind === "carry" ? "carry" : `${p.kind} ${pct(p.target)}`];
  if (p.min_keep !== undefined && p.min_keep > 0) parts.push(`min_keep ${p.min_keep}`);
  if (p.max_keep !== undefined && p.max_keep !== null) parts.push(`max_keep ${p.max_keep}`);
  const a = p.abstention;
  if (a !== undefined)
    parts.push(a === "carry" ? "abstains (carried)" : "alpha" in a ? `abstains (alpha ${pct(a.alpha)})` : `abstains (rate ${pct(a.rate)})`);
  return parts.join(", ");
}

export function GateHistory(props: { view: GateView; admin: boolean; csrf: string }) {
  const { view: v, admin } = props;
  const cur = v.current;
  return (
    <>
      <h2 id="history">Calibration history</h2>
      {!admin && <p class="muted">Activating and rolling back need an admin token.</p>}
      <Table
        name="history"
        caption="Newest first"
        captionClass="muted"
        rows={v.calibrations}
        rowAttrs={(c) => ({ "data-calibration": c.id, id: `calibration-${c.id}` })}
        columns={[
          { header: "Calibration", cell: (c) => <code>{c.id}</code> },
          { header: "Version", cell: (c) => c.index_version },
          { header: "Threshold", num: true, cell: (c) => num(c.threshold) },
          { header: "Expected drop", num: true, cell: (c) => pct(c.expected_drop_rate) },
          { header: "Policy", field: "policy", cell: (c) => policyWords(c.policy) },
          {
            header: "Created",
            cell: (c) => (
              <>
                {when(c.created_at)} by {c.created_by}
              </>
            ),
          },
          {
            // what an unserved calibration is now, as the rest of the page names it (not just "inactive")
            header: "State",
            field: "state",
            cell: (c) => (c.current ? <strong>current</strong> : stateOf(v, c)),
          },
          admin && {
            header: "Action",
            cell: (c) =>
              !c.current && (
                <ActivateForm
                  gateId={v.gate.gate_id}
                  csrf={props.csrf}
                  id={c.id}
                  version={c.index_version}
                  rollback={c.created_at < (cur?.created_at ?? "")}
                />
              ),
          },
        ]}
      />
      <details>
        <summary>Activation log ({v.activations.length})</summary>
        {v.activations.length === 0 ? (
          <p data-field="no-activations">No calibration of this gate has been activated: it serves nothing until one is.</p>
        ) : (
          <Table
            rows={v.activations}
            columns={[
              { header: "When", cell: (a) => when(a.activated_at) },
              {
                header: "Calibration",
                cell: (a) => (
                  <>
                    {a.index_version} <code>{a.calibration_id}</code>
                  </>
                ),
              },
              { header: "Replaced", field: "replaced", cell: (a) => <Replaced id={a.previous_calibration_id} view={v} /> },
              { header: "By", cell: (a) => a.actor },
              { header: "Reason", cell: (a) => a.reason ?? "" },
            ]}
          />
        )}
      </details>
    </>
  );
}
