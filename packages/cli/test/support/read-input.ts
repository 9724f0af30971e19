/** Inputs and failures of the score-file reader, shared by its tests. */
import { Readable } from "node:stream";
import { InputError } from "../../src/read-scores";

/** A file's text as the stream readScores reads from stdin. */
export const fromText = (text: string): Readable => Readable.from([Buffer.from(text)]);

/** The InputError `p` rejects with; fails the test when it resolves or rejects with anything else. */
export async function inputError(p: Promise<unknown>): Promise<InputError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error("expected an InputError");
}
