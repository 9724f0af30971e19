/** The gate page's calibration history (with activate / roll back for admins) and its activation log. */
import { num, pct } from "../charts/scale";
import type { GateView } from "../data";
import { AdminForm, when } from "./layout";
import { Table } from "./table";

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
  const twin = props.view.calibrations.some((x) => x.id !== id && x.index_version === c.index_version);
  return (
    <a href={`#calibration-${id}`} title={id}>
      {c.index_version}
      {twin ? ` (${id.slice(-6)})` : ""}
    </a>
  );
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
          { header: "Policy", cell: (c) => c.policy.kind },
          {
            header: "Created",
            cell: (c) => (
              <>
                {when(c.created_at)} by {c.created_by}
              </>
            ),
          },
          { header: "State", cell: (c) => (c.current ? <strong>current</strong> : c.active ? "active (pinned version)" : "inactive") },
          admin && {
            header: "Action",
            cell: (c) =>
              !c.current && (
                <AdminForm
                  action={`/ui/gates/${v.gate.gate_id}/activate`}
                  csrf={props.csrf}
                  extra={{ calibration_id: c.id }}
                  name={`${c.created_at < (cur?.created_at ?? "") ? "Roll back to" : "Activate"} ${c.index_version} ${c.id}`}
                  label={c.created_at < (cur?.created_at ?? "") ? "Roll back" : "Activate"}
                  reason
                />
              ),
          },
        ]}
      />
      <details>
        <summary>Activation log ({v.activations.length})</summary>
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
      </details>
    </>
  );
}
