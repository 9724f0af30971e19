/**
 * The gate page's production section: the drop rate and the detector's evidence per hour over the chosen range
 * (charts/time-series.tsx) with its plotted numbers, and the monitor's daily windows (gate-windows.tsx).
 */
import { SERIES_BUCKET_MS, type SeriesBucket, type SeriesTraffic } from "../../contract";
import { count, counted, num, pct } from "../charts/scale";
import { calibrationsOf, linesOf, onLine, type SeriesLine } from "../charts/series-parts";
import { type ShareLine, type SharePanel, shareRate, shareShown, shareShows } from "../charts/share-panel";
import { alarmCount, alarmsOf, type ChartActivation, DropRateSeriesChart } from "../charts/time-series";
import { type GateView, SERIES_RANGES, type SeriesRange } from "../data/gate";
import { type PlacedBuckets, placeBuckets, TRAFFIC_WORDS, type TrafficWord } from "../data/traffic-spans";
import { versionName } from "./calibration-roles";
import { bySize, calibrationName, chartExpectation, DetectorExpectation, FOR_SIZES, FOR_SIZES_THEN, WINDOW_ROLES } from "./gate-expectation";
import { GateWindowsTable } from "./gate-windows";
import { when } from "./layout";
import { type Column, Table } from "./table";
import { unscoredColumns } from "./unscored-column";

const RANGE_WORDS: Record<SeriesRange, string> = { "24h": "24 hours", "7d": "7 days", "30d": "30 days" };

/** How the legend names a traffic's observed line (charts/series-parts.tsx TRAFFIC_DASH). */
const LINE_WORDS: Record<SeriesTraffic, string> = { served: "line", shadow: "dotted line", candidate: "dash-dotted line" };

const hours = (n: number): string => counted(n, "hour");

/**
 * The lines (calibration and traffic) a share panel draws, with the expected rate and band of their newest monitor
 * window of that traffic that tests it: for "abstention" those that abstain (abstain_below set), for "guard" those with
 * min_keep >= 1; a calibration not in the gate's listed history qualifies by its hours (abstention reported, a guard
 * that bound).
 */
function shareLines(panel: SharePanel, v: GateView, buckets: readonly SeriesBucket[]): ShareLine[] {
  const listed = new Map(v.calibrations.map((c) => [c.id, c]));
  return linesOf(buckets)
    .filter((l) => {
      const c = listed.get(l.calibration_id);
      if (c === undefined) return buckets.some((b) => onLine(l, b) && shareShows(panel, b));
      return panel === "guard" ? (c.guards?.min_keep ?? 0) >= 1 : c.abstain_below != null;
    })
    .map(({ calibration_id, traffic }) => {
      const tested =
        v.monitor.points.filter((p) => p.calibration_id === calibration_id && WINDOW_ROLES[traffic].includes(p.role) && p[panel] !== null).at(-1)?.[
          panel
        ] ?? null;
      return { calibration_id, traffic, expected: tested?.expected ?? null, band: tested?.band ?? null };
    });
}

/**
 * A line's name: its calibration's, with the traffic when the calibration has another line in the buckets ("v3 (shadow,
 * then candidate), its shadow traffic").
 */
function lineName(v: GateView, l: Pick<SeriesLine, "calibration_id" | "index_version" | "traffic">, buckets: readonly SeriesBucket[]): string {
  const name = calibrationName(v, l);
  const lines = linesOf(buckets).filter((o) => o.calibration_id === l.calibration_id);
  return lines.length > 1 ? `${name}, its ${TRAFFIC_WORDS[l.traffic]} traffic` : name;
}

/** One sentence per calibration of a share panel: its hourly range and what its test expects. */
function shareSentences(panel: SharePanel, v: GateView, buckets: readonly SeriesBucket[]): string[] {
  const verb = panel === "guard" ? "had min_keep bind on" : "abstained on";
  return shareShown(panel, buckets, shareLines(panel, v, buckets)).map(({ line, buckets: mine }) => {
    const rates = mine.flatMap((b) => {
      const r = shareRate(panel, b);
      return r === null ? [] : [r];
    });
    const name = lineName(v, { ...calibrationsOf(mine)[0]!, traffic: line.traffic }, buckets);
    const expected =
      line.expected === null ? "" : `, expected ${pct(line.expected)}${line.band ? ` (band ${pct(line.band[0])} to ${pct(line.band[1])})` : ""}`;
    return `${name} ${verb} ${rateRange(rates) ?? "–"} of queries per hour${expected}.`;
  });
}

/** The kinds of traffic the bucket counted: its stored traffic, or an earlier hour's from the log (data/traffic-spans.ts). */
const trafficOf = (p: PlacedBuckets, b: SeriesBucket): readonly TrafficWord[] => p.words.get(b) ?? [];

/** Whether the bucket, recorded before the monitor kept each traffic's hours apart, joins two kinds of its calibration's traffic. */
const isMixed = (p: PlacedBuckets, b: SeriesBucket): boolean => p.mixed.has(b);

/** "shadow", "shadow, then promotion candidate"; "–" when the log read does not reach back to the hour. */
function trafficWords(words: readonly TrafficWord[]): string {
  return words.length === 0 ? "–" : words.join(", then ");
}

/** The distinct hours the buckets cover: two calibrations counted in one hour (a promotion's arms) are one hour. */
const hoursOf = (buckets: readonly { start: string }[]): number => new Set(buckets.map((b) => b.start)).size;

/** "20.0 % to 22.0 %" over the buckets' hourly rates ("20.0 %" when they round alike), or null when no hour had candidates. */
function rateRange(values: readonly (number | null)[]): string | null {
  const rates = values.filter((r): r is number => r !== null);
  if (rates.length === 0) return null;
  const [lo, hi] = [pct(Math.min(...rates)), pct(Math.max(...rates))];
  return lo === hi ? lo : `${lo} to ${hi}`;
}

/**
 * The series' activations as the chart names them: by version, with the calibration id's end when another calibration
 * the chart shows (in its hours or its activations) has the same version, as the tables and the activation log do.
 */
function chartActivations(v: GateView, buckets: readonly SeriesBucket[]): ChartActivation[] {
  const activations = v.series?.activations ?? [];
  const shown = [...calibrationsOf(buckets), ...activations];
  return activations.map((a) => ({ at: a.at, name: versionName(a, shown) }));
}

/** The chart's text alternative: what it shows, in one paragraph. */
function describe(v: GateView, range: SeriesRange, placed: PlacedBuckets): string {
  const buckets = placed.buckets;
  if (buckets.length === 0) return `No observations in the last ${RANGE_WORDS[range]}.`;
  const alarms = alarmsOf(buckets).sort((a, b) => a.at.localeCompare(b.at));
  const alarmHours = hoursOf(buckets.filter((b) => b.last_alarm_at !== null));
  const shown = calibrationsOf(buckets);
  const mixed = buckets.filter((b) => isMixed(placed, b));
  // Per calibration and traffic (a promotion's arms each have theirs, a promoted shadow its shadow and served hours),
  // with one expectation each, the detector's (not whichever hour ends the range): the same for every range.
  const parts = linesOf(buckets).map((c) => {
    const mine = buckets.filter((b) => onLine(c, b));
    const observed = rateRange(mine.map((b) => b.drop_rate));
    // a line whose traffic no hour names (earlier hours the log read does not reach) is matched to no window's traffic
    const named = mine.some((b) => trafficOf(placed, b).length > 0);
    const expectation = chartExpectation(v, named ? c : { calibration_id: c.calibration_id, index_version: c.index_version }, mine.at(-1)!);
    return `${lineName(v, c, buckets)}: observed ${observed === null ? "no candidates" : `${observed} per hour`}, ${expectation}`;
  });
  return [
    `${hours(hoursOf(buckets))} with observations in the last ${RANGE_WORDS[range]}; ${parts.join("; ")}.`,
    ...(mixed.length === 0
      ? []
      : [
          `${mixed.length === 1 ? "1 point joins" : `${mixed.length} points join`} two kinds of one calibration's traffic (recorded before the monitor kept each traffic's hours apart): ${mixed
            .map((b) => `${versionName(b, shown)} at ${when(b.start)} (${trafficWords(trafficOf(placed, b))})`)
            .join("; ")}.`,
        ]),
    ...shareSentences("guard", v, buckets),
    ...shareSentences("abstention", v, buckets),
    alarms.length === 0
      ? "No alarm."
      : alarmHours === 1
        ? `1 hour with alarms, the last at ${when(alarms.at(-1)!.at)}.`
        : `${hours(alarmHours)} with alarms, the first at ${when(alarms[0]!.at)}, the last at ${when(alarms.at(-1)!.at)}.`,
    ...chartActivations(v, buckets).map((a) => `Activated ${a.name} at ${when(a.at)}.`),
  ].join(" ");
}

/**
 * "N % of the reported candidates had no score", over the range's hours of the gate's own traffic (a shadow's mirrored
 * queries aside), or null when every reported candidate had one. The drift tests, and every rate on this page, read
 * the scored candidates: without this line a reranker outage would show only as fewer candidates.
 */
export function unscoredSentence(buckets: readonly SeriesBucket[], range: SeriesRange): string | null {
  let unscored = 0;
  let scored = 0;
  for (const b of buckets) {
    if (b.traffic === "shadow") continue;
    unscored += b.unscored_candidates;
    scored += b.candidates;
  }
  if (unscored === 0) return null;
  return `${pct(unscored / (unscored + scored))} of the reported candidates had no score in the last ${RANGE_WORDS[range]} (${count(unscored)} of ${count(unscored + scored)}): a reranker failing or timing out for them, a wrong score key, scores sent as strings. The rates here are of the scored candidates.`;
}

/**
 * The hourly table's guard and abstention columns, shown when some hour has them: the share of queries where min_keep
 * bound, and the abstention rate of the queries that reported it (with their number).
 */
function hourlyGuardColumns(buckets: readonly SeriesBucket[]): Column<SeriesBucket>[] {
  return [
    ...(buckets.some((b) => shareShows("guard", b))
      ? [
          {
            header: "Guard bound",
            num: true,
            cell: (b: SeriesBucket) => {
              const r = shareRate("guard", b);
              return r === null ? "–" : pct(r);
            },
          },
        ]
      : []),
    ...(buckets.some((b) => shareShows("abstention", b))
      ? [
          {
            header: "Abstained",
            num: true,
            cell: (b: SeriesBucket) => (b.abstention_rate === null ? "–" : `${pct(b.abstention_rate)} (${count(b.abstention_queries ?? 0)})`),
          },
        ]
      : []),
  ];
}

export function ProductionSection(props: { view: GateView; range: SeriesRange; path: string }) {
  const v = props.view;
  const series = v.series;
  // Each hour on its traffic's line: stored, or for hours recorded before the monitor kept traffic apart, the log's.
  const placed = placeBuckets(series?.buckets ?? [], v.traffic ?? []);
  const buckets = placed.buckets;
  const abstention = shareLines("abstention", v, buckets);
  const guard = shareLines("guard", v, buckets);
  // A guarded calibration's expected rate is per hour the detector's for the sizes sent by then: it moves with them.
  const hourlyBySize = calibrationsOf(buckets).some((c) => bySize(v, c.calibration_id));
  // The tables name a calibration as the legend does: with its id's end when another one has its index version.
  const shown = calibrationsOf(buckets);
  const unscored = unscoredSentence(buckets, props.range);
  return (
    <>
      <h2 id="production">Production drop rate</h2>
      <nav aria-label="Time range" class="ranges">
        Last:{" "}
        {(Object.keys(SERIES_RANGES) as SeriesRange[]).map((r, i) => (
          <>
            {i > 0 && " · "}
            {r === props.range ? (
              <strong aria-current="true">{RANGE_WORDS[r]}</strong>
            ) : (
              <a href={`${props.path}?range=${r}#production`}>{RANGE_WORDS[r]}</a>
            )}
          </>
        ))}
      </nav>
      <DetectorExpectation view={v} />
      {series === null ? (
        <p class="error">The monitor's series could not be read.</p>
      ) : buckets.length === 0 ? (
        <p>No observations in the last {RANGE_WORDS[props.range]}: services report counts with POST /v1/observations.</p>
      ) : (
        <section aria-labelledby="production">
          <figure>
            <DropRateSeriesChart
              buckets={buckets}
              activations={chartActivations(v, buckets)}
              fromMs={Date.parse(series.from)}
              toMs={Date.parse(series.to)}
              bucketMs={SERIES_BUCKET_MS}
              abstention={abstention}
              guard={guard}
              mixed={(b) => isMixed(placed, b)}
              title={`Production drop rate and drift evidence per hour, last ${RANGE_WORDS[props.range]}`}
              desc={describe(v, props.range, placed)}
            />
            <figcaption>
              <ul class="legend">
                {linesOf(buckets).map((c) => (
                  <li data-traffic={c.traffic}>
                    <span class={`sw ${c.tone.cls}`} aria-hidden="true" />
                    {lineName(v, c, buckets)}: observed ({LINE_WORDS[c.traffic]} and dots),{" "}
                    {bySize(v, c.calibration_id)
                      ? `expected at each hour (dashes: the detector's then, ${FOR_SIZES_THEN}, so it moves with their mix)`
                      : "expected (dashes)"}
                    , tolerance band (shaded)
                  </li>
                ))}
                {shareShown("guard", buckets, guard).length > 0 && (
                  <li>
                    <span class="sw abstention" aria-hidden="true" />
                    guard-binding panel, in each version's colour: share of queries where min_keep bound per hour (dotted line and dots), expected for
                    the candidate counts production sent since the detector's last reset (dashes: its newest window's test), tolerance band (shaded)
                  </li>
                )}
                {shareShown("abstention", buckets, abstention).length > 0 && (
                  <li>
                    <span class="sw abstention" aria-hidden="true" />
                    abstention panel, in each version's colour: share of queries that abstained per hour (dotted line and dots), expected
                    {v.monitor.points.some((p) => p.abstention?.stratified) ? ` ${FOR_SIZES} (dashes: its newest window's test)` : " (dashes)"},
                    tolerance band (shaded)
                  </li>
                )}
                {placed.mixed.size > 0 && (
                  <li data-field="mixed-hours">
                    <span class="sw mixed" aria-hidden="true" />
                    hollow dots: an hour in which the calibration's traffic changed kind (a shadow promoted, a candidate completed), recorded before
                    the monitor kept each traffic's hours apart: that point joins both, and its expected rate, band and evidence are those of the
                    hour's last batch (the Traffic column says which). Later hours are each traffic's own
                  </li>
                )}
                <li>
                  <span class="sw alarm-level" aria-hidden="true" />
                  alarm level of the evidence; red triangles and lines: alarms
                </li>
                <li>
                  <span class="sw activation" aria-hidden="true" />
                  activations, named by version (several close together share one label)
                </li>
              </ul>
              <p class="muted">{describe(v, props.range, placed)}</p>
            </figcaption>
          </figure>
          {unscored !== null && (
            <p class="error" data-field="unscored">
              {unscored}
            </p>
          )}
          <details>
            <summary>Plotted numbers (per hour)</summary>
            <Table
              name="series"
              caption={`One row per hour, calibration and traffic with observations, oldest first${hourlyBySize ? `; Expected and Band: the detector's at the hour's last batch, ${FOR_SIZES_THEN}` : ""}`}
              rows={buckets}
              columns={[
                { header: "Hour (UTC)", rowHeader: true, cell: (b) => when(b.start) },
                { header: "Version", cell: (b) => versionName(b, shown) },
                // whose traffic the hour counted: its own, or in an hour recorded before traffic was kept apart, what the log says
                {
                  header: "Traffic",
                  field: "traffic",
                  cell: (b) => `${trafficWords(trafficOf(placed, b))}${isMixed(placed, b) ? " (one count)" : ""}`,
                },
                { header: "Queries", num: true, cell: (b) => b.queries },
                // the candidates without a score beside the rates of the scored ones, once some hour has them
                ...unscoredColumns(buckets, (b) => ({ unscored: b.unscored_candidates, scored: b.candidates })),
                { header: "Observed", num: true, cell: (b) => pct(b.drop_rate) },
                { header: "Expected", num: true, cell: (b) => pct(b.expected) },
                { header: "Band", num: true, cell: (b) => `${pct(b.band.lo)} – ${pct(b.band.hi)}` },
                { header: "Empty context", num: true, cell: (b) => (b.queries > 0 ? pct(b.empty_queries / b.queries) : "–") },
                ...hourlyGuardColumns(buckets),
                { header: "Evidence (ln R, highest)", num: true, cell: (b) => `${num(b.max_log_evidence, 1)} / ${num(b.log_threshold, 1)}` },
                // each test that alarmed counts: a batch in which two tests alarm is 2 here, 1 restart in the windows table
                { header: "Test alarms", num: true, cell: (b) => alarmCount(b) },
              ]}
            />
          </details>
        </section>
      )}
      {/* no hour to download: a file of column names only */}
      {buckets.length > 0 && (
        <p>
          <a href={`${props.path}/series.csv?range=${props.range}`}>Download these hours as CSV</a> (the API:{" "}
          <code>GET /v1/monitor/series?format=csv</code>).
        </p>
      )}
      <GateWindowsTable view={v} />
    </>
  );
}
