/**
 * A stub scoregate server for the CLI's tests: one node:http server per test file that answers every request with
 * what the current handler returns, and keeps the last request and its body.
 */
import { once } from "node:events";
import { type IncomingMessage, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface StubAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
}
export type Handler = (req: IncomingMessage, body: string) => StubAnswer;

export interface StubServer {
  url: string;
  /** What the next requests get (a 500 until set). */
  handle(h: Handler): void;
  last(): { request: IncomingMessage | null; body: string };
  /** Forget the last request (to check that nothing was sent). */
  reset(): void;
  close(): Promise<void>;
}

export async function startStubServer(): Promise<StubServer> {
  let handler: Handler = () => ({ status: 500 });
  let lastBody = "";
  let lastRequest: IncomingMessage | null = null;
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      lastBody = Buffer.concat(parts).toString("utf8");
      lastRequest = req;
      const r = handler(req, lastBody);
      const send = () => {
        res.writeHead(r.status, { "Content-Type": "application/json", ...r.headers });
        res.end(r.body === undefined ? "" : typeof r.body === "string" ? r.body : JSON.stringify(r.body));
      };
      if (r.delayMs) setTimeout(send, r.delayMs);
      else send();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    handle: (h) => {
      handler = h;
    },
    last: () => ({ request: lastRequest, body: lastBody }),
    reset: () => {
      lastBody = "";
      lastRequest = null;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
