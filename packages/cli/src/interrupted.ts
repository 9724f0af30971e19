/**
 * What the bin does on SIGINT or SIGTERM (cli.ts wires it to the process): `watch` ends quietly with 0; every other
 * command stops at once with the shell's code and a line saying so, and what may already have reached the server.
 */
import { peekCommand } from "./args";
import { shellWord } from "./suggest";

export interface Interruption {
  /** The command argv names, read as run() reads it: `scoregate --url URL watch` is watch. */
  command: string | undefined;
  /** `watch` runs until interrupted: ^C ends it with exit 0 and no line. */
  quiet: boolean;
  /** What the line adds after "interrupted by SIGINT, stopped": what may already have reached the server. */
  note: string;
}

export function interruption(argv: readonly string[]): Interruption {
  const { command, flags, rest } = peekCommand(argv);
  const waiting = flags.includes("wait");
  // the id argv names: promote's calibration id, which `scoregate promotion` also takes (its newest promotion)
  const id = rest.length === 1 && rest[0]!.trim() !== "" ? shellWord(rest[0]!) : "ID";
  // `promote` starts a promotion or overrides the open one (--pause, ...); `promotion` only reads one
  const promotionNote = waiting
    ? ` waiting: the promotion goes on, only the wait stopped (scoregate promotion ${id} --wait SECONDS waits again)`
    : command === "promote"
      ? `: a change already sent may have been applied (scoregate promotion ${id} shows the promotion)`
      : "";
  const notes: Partial<Record<string, string>> = {
    // a dry run stores nothing, whatever reached the server
    calibrate: flags.includes("dry-run")
      ? ": a dry run stores nothing"
      : ": an upload already sent may have been stored (scoregate history shows it)",
    promote: promotionNote,
    promotion: promotionNote,
  };
  return { command, quiet: command === "watch", note: (command && notes[command]) ?? "" };
}
