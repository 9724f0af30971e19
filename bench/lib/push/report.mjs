/**
 * Numbers into the report of bench/push-propagation.mjs: quantiles and summaries of latencies, the lines every mode's
 * report shares (how it was run, a latency row, the client's event-loop delay) and writing it to `--out`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, relative } from "node:path";
import { BUILD_COMMAND, ROOT } from "../worker.mjs";
import { OUT } from "./options.mjs";

/** Progress goes to stderr; the report alone to stdout. */
export const log = (...a) => console.error(...a);
export const fmt = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? "n/a" : x.toFixed(d));

/** The smallest sample with at least a fraction `q` of `xs` at or below it; NaN for no sample. */
export const quantile = (xs, q) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};

export function summary(xs) {
  return { n: xs.length, p50: quantile(xs, 0.5), p90: quantile(xs, 0.9), p99: quantile(xs, 0.99), max: quantile(xs, 1) };
}

/** A table row `| name | samples | p50 | p90 | p99 | max |` of a summary. */
export const summaryRow = (name, s) => `| ${name} | ${s.n} | ${fmt(s.p50)} | ${fmt(s.p90)} | ${fmt(s.p99)} | ${fmt(s.max)} |`;

/** p50, p99 and max of a perf_hooks event-loop delay histogram, in ms. */
export const loopDelay = (l) => `p50 ${fmt(l.percentile(50) / 1e6, 1)}, p99 ${fmt(l.percentile(99) / 1e6, 1)}, max ${fmt(l.max / 1e6, 1)}`;

/**
 * The report's lines on how it was run: the command, the build and the machine (with the load average at the start
 * and the end when `loads` is given).
 */
export function runLines(machine, command, loads = null) {
  const load =
    loads === null
      ? ""
      : ` Load average (1 / 5 / 15 min) at the start ${loads[0].map((x) => x.toFixed(2)).join(" / ")}, at the end ${loads[1].map((x) => x.toFixed(2)).join(" / ")}.`;
  return [
    `Command: \`${command}\``,
    `Build: \`${BUILD_COMMAND}\`, run by Miniflare ${machine.miniflare} (workerd ${machine.workerd}); Node ${machine.node}.`,
    `Machine: ${machine.nproc} cores, ${machine.cpu}.${load} Date: ${new Date().toISOString()}.`,
  ];
}

/** Writes the report to OUT and prints it. */
export function writeOut(lines) {
  const text = `${lines.join("\n")}\n`;
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, text);
  process.stdout.write(text);
  log(`written to ${relative(ROOT, OUT)}`);
}
