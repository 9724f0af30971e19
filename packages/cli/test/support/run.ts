import { Readable } from "node:stream";
import { type Io, run } from "../../src/main";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured output, the given environment and (optionally) stdin text. */
export async function cli(argv: string[], env: Record<string, string | undefined>, stdin?: string): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const io: Io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s), isTTY: false },
    env,
    // an upload's retries go at once (their waits are the CLI's RETRY_DELAY_MS; the tests count the attempts)
    sleep: async () => {},
    ...(stdin !== undefined ? { stdin: Readable.from([Buffer.from(stdin)]) } : {}),
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}
