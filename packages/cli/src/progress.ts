/**
 * A one-line progress bar on stderr, only when stderr is a terminal (pipes and CI logs get nothing), redrawn at most
 * ten times a second so a 1M-row file is not slowed by terminal writes.
 */
import { fixed, size } from "./format";

export interface Progress {
  update(label: string, done: number, total: number | null): void;
  done(): void;
}

export const noProgress: Progress = { update() {}, done() {} };

export function terminalProgress(stream: NodeJS.WriteStream): Progress {
  let last = 0;
  let drawn = false;
  return {
    update(label, done, total) {
      const now = Date.now();
      if (now - last < 100 && !(total !== null && done >= total)) return;
      last = now;
      const width = 30;
      let line: string;
      if (total && total > 0) {
        const f = Math.min(1, done / total);
        const full = Math.round(f * width);
        line = `${label} [${"#".repeat(full)}${"-".repeat(width - full)}] ${fixed(100 * f, 0).padStart(3)} % ${size(done)} / ${size(total)}`;
      } else line = `${label} ${size(done)}`;
      stream.write(`\r\u001b[2K${line}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write("\r\u001b[2K");
      drawn = false;
    },
  };
}
