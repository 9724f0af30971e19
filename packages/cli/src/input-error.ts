/**
 * Bad input, with the line numbers of the first offenders: the CLI exits 2 with it (the score-file reader: read-scores.ts
 * and the modules it reads with, query-groups.ts).
 */
export class InputError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super(message);
  }
}

/** A read failure of `source` in words (missing, a directory, no permission); anything else as it came. */
export function readError(e: unknown, source: unknown): unknown {
  if (e instanceof InputError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new InputError(`cannot read ${String(source)}: no such file`);
  if (code === "EISDIR") return new InputError(`cannot read ${String(source)}: it is a directory`);
  if (code === "EACCES") return new InputError(`cannot read ${String(source)}: permission denied`);
  return e;
}
