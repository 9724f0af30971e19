/** The `text/event-stream` parser of the stream client (stream.ts): frames out of arbitrary chunks of text. */
/** One parsed Server-Sent Events frame: `event` defaults to `message`, `id` is the frame's `id:` when it had one. */
export interface SseFrame {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * An incremental `text/event-stream` parser (WHATWG HTML, "Server-sent events", 9.2.6 interpreting an event
 * stream): lines end in CRLF, LF or CR; `data:` lines join with LF; a blank line dispatches; `:` starts a comment;
 * `retry:` takes digits only. Hand-written rather than a dependency: the SDK has none, and this is the whole of it.
 */
export class SseParser {
  #buffer = "";
  #event = "";
  #data: string[] = [];
  #id: string | undefined;
  #pendingCr = false;

  constructor(
    private readonly onFrame: (frame: SseFrame) => void,
    private readonly onRetry: (ms: number) => void = () => {},
  ) {}

  /** Feeds decoded text; complete frames are dispatched synchronously, in order. */
  push(text: string): void {
    let s = text;
    // a CR at the end of the previous chunk already ended its line: a LF starting this one belongs to it
    if (this.#pendingCr && s.startsWith("\n")) s = s.slice(1);
    this.#pendingCr = s.endsWith("\r");
    this.#buffer += s;
    const lines = this.#buffer.split(/\r\n|\r|\n/u);
    this.#buffer = lines.pop() ?? "";
    for (const line of lines) this.#line(line);
  }

  #line(line: string): void {
    if (line === "") {
      if (this.#data.length > 0) this.onFrame({ event: this.#event || "message", data: this.#data.join("\n"), id: this.#id });
      this.#event = "";
      this.#data = [];
      this.#id = undefined;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
    else if (field === "id" && !value.includes("\0")) this.#id = value;
    else if (field === "retry" && /^\d+$/u.test(value)) this.onRetry(Number(value));
  }
}
