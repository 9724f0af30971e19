/** Bad input, with the line numbers of the first offenders: the CLI exits 2 with it (read-scores.ts, query-groups.ts). */
export class InputError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super(message);
  }
}
