/**
 * A stub of the events route (GET /v1/events) on a real local HTTP server, so the stream client reads a real chunked
 * `text/event-stream` body over `fetch`: each connection is handed to the test's script, which writes frames, closes,
 * or destroys the socket mid-frame. Records every connection's Last-Event-ID.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { GateStream, type GateStreamOptions, type HistoryRestart, type StreamState } from "../src/stream";
import type { GateEvent } from "../src/types";
import { thresholdBody } from "./fake-server";

export interface Connection {
  req: IncomingMessage;
  res: ServerResponse;
  lastEventId: string | undefined;
  /** Starts the event stream (200, text/event-stream) and sends `retry:`. */
  open(): void;
  send(frame: string): void;
  /** Ends the socket abruptly, as a lost network would. */
  destroy(): void;
}

export type Script = (c: Connection, n: number) => void;

export interface SseStub {
  url: string;
  connections: Connection[];
  setScript(s: Script): void;
  /** GET /v1/threshold answers with this (the poller's route); null: 404 uncalibrated. */
  threshold: { body: unknown; etag: string } | null;
  thresholdGets: number;
  close(): Promise<void>;
}

export async function startSseStub(script: Script): Promise<SseStub> {
  let current = script;
  const connections: Connection[] = [];
  const stub: SseStub = {
    url: "",
    connections,
    setScript: (s) => {
      current = s;
    },
    threshold: null,
    thresholdGets: 0,
    close: () =>
      new Promise((done) => {
        for (const c of connections) c.res.destroy();
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://stub");
    if (url.pathname === "/v1/threshold") {
      stub.thresholdGets += 1;
      if (stub.threshold === null) {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "uncalibrated", message: "none" } }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json", etag: stub.threshold.etag, "cache-control": "private, max-age=5" });
      res.end(JSON.stringify(stub.threshold.body));
      return;
    }
    const header = req.headers["last-event-id"];
    const c: Connection = {
      req,
      res,
      lastEventId: typeof header === "string" ? header : undefined,
      open: () => {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
        res.write("retry: 10\n\n");
      },
      send: (frame) => {
        res.write(frame);
      },
      destroy: () => {
        res.socket?.destroy();
      },
    };
    connections.push(c);
    current(c, connections.length);
  });
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return stub;
}

/** A gate event as the server frames it (`id:`, `event:`, one `data:` line). */
export function frame(e: GateEvent, name: "gate" | "snapshot" = "gate"): string {
  return `id: ${e.seq}\nevent: ${name}\ndata: ${JSON.stringify(e)}\n\n`;
}

export function heartbeat(headSeq: number): string {
  return `event: heartbeat\ndata: ${JSON.stringify({ v: 1, head_seq: headSeq, at: "2026-01-01T00:00:00.000Z" })}\n\n`;
}

/** An activation event of the test gate serving `calibrationId` at `threshold`. */
export function gateEvent(seq: number, prevSeq: number, calibrationId = `cal_${String(seq).padStart(10, "0")}`, threshold = 0.42): GateEvent {
  return {
    v: 1,
    seq,
    prev_seq: prevSeq,
    gate_id: "g_docs_e5_bge",
    kind: "activation",
    at: "2026-01-01T00:00:00.000Z",
    actor: "alice",
    reason: null,
    calibration_id: calibrationId,
    served: thresholdBody(calibrationId, threshold),
    promotion: null,
    details: null,
  };
}

/**
 * A stream of the stub's gate (index docs, e5, bge) with short timings, started; records the seqs it applied, its
 * restarts and its states. `onClose` takes its close for the test file's cleanup.
 */
export function openGateStream(url: string, onClose: (close: () => void) => void, options: Partial<GateStreamOptions> = {}) {
  const seqs: number[] = [];
  const restarts: HistoryRestart[] = [];
  const states: { state: StreamState; reason: string; after: number | null; status?: number }[] = [];
  const s = new GateStream({
    url: `${url}/v1/events?index=docs&embedding=e5&reranker=bge`,
    headers: () => ({ authorization: "Bearer read-token" }),
    fetch: globalThis.fetch,
    readTimeoutMs: 2000,
    backoff: { initialMs: 5, maxMs: 20 },
    random: () => 0.5,
    onEvent: (e) => seqs.push(e.seq),
    onRestart: (r) => restarts.push(r),
    onState: (state, d) => states.push({ state, ...d }),
    ...options,
  });
  onClose(() => s.close());
  s.start();
  return { s, seqs, restarts, states };
}
