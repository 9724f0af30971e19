/**
 * The Prometheus text exposition format (version 0.0.4): gauges, and counters for running totals. Hand-written: the format is a few lines, and
 * the client libraries on npm are built for Node's process metrics rather than for printing gauges from a Worker.
 */

type Labels = Record<string, string>;

export interface Family {
  readonly help: string;
  /** "counter" for a total that only grows over the series' life; gauge otherwise. */
  readonly type?: "counter";
  readonly samples: { labels: Labels; value: number }[];
}

const escapeLabel = (v: string): string => v.replace(/\\/gu, "\\\\").replace(/"/gu, '\\"').replace(/\n/gu, "\\n");

export function renderPrometheus(families: Readonly<Record<string, Family>>): string {
  const lines: string[] = [];
  for (const [name, f] of Object.entries(families)) {
    lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type ?? "gauge"}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(",");
      const value = Number.isNaN(s.value) ? "NaN" : s.value === Infinity ? "+Inf" : s.value === -Infinity ? "-Inf" : String(s.value);
      lines.push(`${name}${labels ? `{${labels}}` : ""} ${value}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
