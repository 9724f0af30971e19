/**
 * The gate page's shadows: the calibrations its clients evaluate on mirrored traffic now, as the gate's head holds
 * them (what GET /v1/threshold serves), each with its sample rate. The overview's shadow count links here.
 */
import type { ServedShadow } from "../../contract";
import { num, pct } from "../charts/scale";
import type { GateView } from "../data/gate";
import { versionName } from "./calibration-roles";
import { Table } from "./table";

function ShadowRef(props: { s: ServedShadow; view: GateView }) {
  const c = props.view.calibrations.find((x) => x.id === props.s.calibration_id);
  // a shadow older than the history's first page: its id, as the activation log writes one
  if (c === undefined) return <code>{props.s.calibration_id}</code>;
  return (
    <a href={`#calibration-${c.id}`} title={c.id}>
      {versionName(c, props.view.calibrations)}
    </a>
  );
}

export function ShadowSection(props: { view: GateView }) {
  const v = props.view;
  return (
    <>
      <h2 id="shadows">Shadows ({v.shadowSet.length})</h2>
      {v.shadowSet.length === 0 ? (
        <p data-field="no-shadows">No calibration of this gate is in shadow now.</p>
      ) : (
        <Table<ServedShadow>
          name="shadows"
          caption={`Evaluated on mirrored queries, never served; their live decisions: GET /v1/gates/${v.gate.gate_id}/shadows`}
          captionClass="muted"
          rows={v.shadowSet}
          rowAttrs={(s) => ({ "data-shadow": s.calibration_id })}
          columns={[
            { header: "Calibration", rowHeader: true, cell: (s) => <ShadowRef s={s} view={v} /> },
            { header: "Threshold", num: true, cell: (s) => num(s.threshold) },
            { header: "Expected drop", num: true, cell: (s) => pct(s.expected_drop_rate) },
            { header: "Queries mirrored", num: true, field: "sample-rate", cell: (s) => pct(s.sample_rate) },
          ]}
        />
      )}
    </>
  );
}
