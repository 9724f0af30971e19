/**
 * The dashboard's one stylesheet, served by the Worker at /ui/style.css (the pages allow styles from 'self' only).
 * Colours are chosen for at least 4.5:1 contrast on white; the two distributions differ in colour and in dash
 * pattern, so the charts read without colour too.
 */
export const STYLESHEET = `
:root { --fg: #1a1a1a; --muted: #4a4a4a; --bg: #ffffff; --panel: #f4f5f7; --line: #c9ccd1; --accent: #0b5cad;
  --prev: #1f5fa8; --cur: #a8401a; --bad: #a4161a; --warn: #7a4d00; --ok: #1b6e20; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 "DejaVu Sans", system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, .table-wrap:focus-visible { outline: 3px solid #f0b400; outline-offset: 2px; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .6rem 1rem; background: #14213d; color: #fff; }
header.top a { color: #fff; }
header.top .brand { font-weight: bold; font-size: 1.1rem; text-decoration: none; }
header.top nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; flex-wrap: wrap; }
header.top .who { margin-left: auto; display: flex; gap: .5rem; align-items: center; font-size: .9rem; }
header.top .who button { background: transparent; color: #fff; border: 1px solid #fff; }
main { padding: 1rem; max-width: 1200px; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: .4rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 .6rem; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: .5rem; background: #fff; color: #000; padding: .3rem .6rem; z-index: 10; }
/* a table wider than the screen scrolls within its region; its caption wraps to the region's width and stays in view */
.table-wrap { overflow-x: auto; container-type: inline-size; }
.table-wrap caption { position: sticky; left: 0; max-width: 100cqw; }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; } td.num .muted { white-space: normal; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; margin: .8rem 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: .8rem; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; margin: .8rem 0; }
.cards > .panel { flex: 1 1 auto; margin: 0; max-width: 100%; }
.cards dl.kv dd { overflow-wrap: break-word; }
.actions { display: flex; flex-wrap: wrap; gap: .6rem 1.5rem; align-items: center; margin: .6rem 0; }
.audit { margin: .4rem 0; padding-left: 1.2rem; }
.big { font-size: 1.25rem; font-weight: bold; }
.badge { display: inline-block; padding: .05rem .45rem; border-radius: 999px; font-size: .85rem; border: 1px solid currentColor; white-space: nowrap; }
.badge.open, .badge.alarm, .badge.shifted, .badge.paused { color: var(--bad); }
.badge.acknowledged, .badge.inconclusive { color: var(--warn); }
.badge.resolved, .badge.watching, .badge.equivalent, .badge.delivered { color: var(--ok); }
.badge.failed { color: var(--bad); } .badge.pending { color: var(--warn); }
.muted { color: var(--muted); }
form.inline { display: inline; }
button, .button { font: inherit; padding: .35rem .8rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
input, select { font: inherit; padding: .3rem .4rem; border: 1px solid #6b6b6b; border-radius: 4px; max-width: 100%; }
label { font-weight: bold; margin-right: .3rem; }
.filters { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: flex-end; margin: .5rem 0 1rem; }
.filters div { display: flex; flex-direction: column; min-width: 0; max-width: 100%; }
.filters input[type="password"], .filters input[type="text"] { width: 24rem; max-width: 100%; }
figure { margin: 0; }
figure svg { width: 100%; height: auto; max-width: 760px; display: block; background: #fff; border: 1px solid var(--line); }
figcaption { font-size: .95rem; margin: .4rem 0; }
.legend { display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; list-style: none; padding: 0; margin: .4rem 0; font-size: .9rem; }
.legend .sw { display: inline-block; width: 1.6rem; height: 0; border-top: 3px solid; vertical-align: middle; margin-right: .3rem; }
.sw.prev { border-color: var(--prev); border-top-style: dashed; } .sw.cur { border-color: var(--cur); }
.sw.thr { border-color: #333; border-top-style: dotted; }
.sw.tone-0 { border-color: #1f5fa8; } .sw.tone-1 { border-color: #a8401a; } .sw.tone-2 { border-color: #1b6e20; } .sw.tone-3 { border-color: #5b2ca0; }
.sw.abstention { border-color: #1a1a1a; border-top-style: dotted; }
.legend .sw.mixed { width: .5rem; height: .5rem; border: 2px solid #1a1a1a; border-radius: 50%; }
.sw.alarm-level { border-color: var(--bad); border-top-style: dashed; } .sw.activation { border-color: #4a4a4a; border-top-style: dashed; }
.series-chart .narrow-only, .layouts .narrow-only { display: none; }
.ranges { margin: .2rem 0 .6rem; }
.badge.not_armed, .badge.unknown { color: var(--warn); } .badge.no_observations { color: var(--muted); }
dl.kv.numbers dd { font-variant-numeric: tabular-nums; }
.state-since { font-size: .95rem; font-weight: normal; }
.error { color: var(--bad); font-weight: bold; }
.nowrap { white-space: nowrap; }
/* the overview's gate names: wide enough that a model id like intfloat/e5-large-v2 is not cut into syllables */
table[data-table="alarms"] th[scope="row"], table[data-table="attention"] th[scope="row"], table[data-table="gates"] th[scope="row"] { min-width: 11rem; }
.attention { border-left: 4px solid var(--bad); padding: .4rem .8rem; background: #fbeeee; }
.notice { border-left: 4px solid var(--accent); padding: .4rem .8rem; background: #eef4fb; }
details summary { cursor: pointer; color: var(--accent); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dl.kv dt { font-weight: bold; } dl.kv dd { margin: 0; overflow-wrap: anywhere; }
dl.kv.guidance { margin: .8rem 0; max-width: 70rem; }
code { overflow-wrap: anywhere; }
.table-wrap td code { overflow-wrap: normal; white-space: nowrap; }
@media (max-width: 600px) {
  main { padding: .6rem; }
  .series-chart .wide-only, .layouts .wide-only { display: none; }
  .series-chart .narrow-only, .layouts .narrow-only { display: block; }
  th, td { padding: .3rem; font-size: .88rem; }
  header.top .who { margin-left: 0; }
  /* key/value cards: each label above its value, which gets the card's whole width (a label column sized to the
     longest label left values so narrow that words broke mid-word) */
  dl.kv { grid-template-columns: 1fr; gap: 0; }
  dl.kv dd + dt { margin-top: .4rem; }
}
`;
