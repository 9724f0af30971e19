/** The gate page's calibration history (with activate / roll back for admins) and its activation log. */
import { num, pct } from "../charts/scale";
import type { GateView } from "../data";
import { AdminForm, when } from "./layout";

export function GateHistory(props: { view: GateView; admin: boolean; csrf: string }) {
  const { view: v, admin } = props;
  const cur = v.current;
  return (
    <>
      <h2 id="history">Calibration history</h2>
      {!admin && <p class="muted">Activating and rolling back need an admin token.</p>}
      <div class="table-wrap">
        <table data-table="history">
          <caption class="muted">Newest first</caption>
          <thead>
            <tr>
              <th scope="col">Calibration</th>
              <th scope="col">Version</th>
              <th scope="col" class="num">
                Threshold
              </th>
              <th scope="col" class="num">
                Expected drop
              </th>
              <th scope="col">Policy</th>
              <th scope="col">Created</th>
              <th scope="col">State</th>
              {admin && <th scope="col">Action</th>}
            </tr>
          </thead>
          <tbody>
            {v.calibrations.map((c) => (
              <tr data-calibration={c.id}>
                <td>
                  <code>{c.id}</code>
                </td>
                <td>{c.index_version}</td>
                <td class="num">{num(c.threshold)}</td>
                <td class="num">{pct(c.expected_drop_rate)}</td>
                <td>{c.policy.kind}</td>
                <td>
                  {when(c.created_at)} by {c.created_by}
                </td>
                <td>{c.current ? <strong>current</strong> : c.active ? "active (pinned version)" : "inactive"}</td>
                {admin && (
                  <td>
                    {!c.current && (
                      <AdminForm
                        action={`/ui/gates/${v.gate.gate_id}/activate`}
                        csrf={props.csrf}
                        extra={{ calibration_id: c.id }}
                        name={`${c.created_at < (cur?.created_at ?? "") ? "Roll back to" : "Activate"} ${c.index_version} ${c.id}`}
                        label={c.created_at < (cur?.created_at ?? "") ? "Roll back" : "Activate"}
                        reason
                      />
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <details>
        <summary>Activation log ({v.activations.length})</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Calibration</th>
                <th scope="col">Replaced</th>
                <th scope="col">By</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {v.activations.map((a) => (
                <tr>
                  <td>{when(a.activated_at)}</td>
                  <td>
                    {a.index_version} <code>{a.calibration_id}</code>
                  </td>
                  <td>
                    <code>{a.previous_calibration_id ?? "–"}</code>
                  </td>
                  <td>{a.actor}</td>
                  <td>{a.reason ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </>
  );
}
