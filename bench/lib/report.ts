/**
 * What the seeded simulation benchmarks share: their command-line options, the machine line, exact binomial bounds
 * for the counts they report, and writing the result file (bench/results/).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, platform, release } from "node:os";
import { dirname } from "node:path";
import { betaInv } from "../../src/stats/special";

const argv = process.argv.slice(2);

/** `--name N` on the command line, else the fallback. */
export function numberOption(name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}

/** `--name VALUE` on the command line, else the fallback. */
export function stringOption(name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : fallback;
}

export function machineLine(): string {
  return `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${platform()} ${release()}, Node ${process.version}`;
}

/** Two-sided exact (Clopper-Pearson) 95 % interval of x successes in n. */
export function clopperPearson(x: number, n: number): [number, number] {
  return [x === 0 ? 0 : betaInv(0.025, x, n - x + 1), x === n ? 1 : betaInv(0.975, x + 1, n - x)];
}

/** One-sided exact (Clopper-Pearson) 95 % upper bound of x successes in n. */
export function upperBound95(x: number, n: number): number {
  return x === n ? 1 : betaInv(0.95, x + 1, n - x);
}

/** Writes the report and prints it. */
export function writeReport(out: string, lines: readonly string[]): void {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${lines.join("\n")}\n`);
  console.log(lines.join("\n"));
}
