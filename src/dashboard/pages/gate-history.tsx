/** The gate page's calibration history (with activate / roll back for admins) and its activation log. */
import { num, pct } from "../charts/scale";
import type { GateView } from "../data";
import { AdminForm, when } from "./layout";
import { Table } from "./table";

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
        rowAttrs={(c) => ({ "data-calibration": c.id })}
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
            { header: "Replaced", cell: (a) => <code>{a.previous_calibration_id ?? "–"}</code> },
            { header: "By", cell: (a) => a.actor },
            { header: "Reason", cell: (a) => a.reason ?? "" },
          ]}
        />
      </details>
    </>
  );
}
