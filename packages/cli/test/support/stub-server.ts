/**
 * A stub scoregate server for the CLI's tests: one node:http server per test file that answers every request with
 * what the current handler returns, and keeps the last request and its body.
 */
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

export interface StubAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
  /** Sent once this settles (after `delayMs`, if both are given). */
  after?: Promise<unknown>;
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
      const delayed = () => (r.delayMs ? setTimeout(send, r.delayMs) : send());
      if (r.after) void r.after.then(delayed, delayed);
      else delayed();
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

/**
 * A test file's stub server and scratch folder, started and removed by the file's beforeAll / afterAll: `stub` (usable
 * once the hooks ran), `dir`, and `env`, the environment that points the CLI at the stub. `setup` writes the file's
 * inputs into `dir` before the server starts.
 */
export function stubFixture(prefix: string, setup: (dir: string) => void = () => {}) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let server: StubServer | undefined;
  const started = (): StubServer => {
    if (server === undefined) throw new Error("stubFixture: the stub server starts in beforeAll");
    return server;
  };
  beforeAll(async () => {
    setup(dir);
    server = await startStubServer();
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const stub: StubServer = {
    get url() {
      return started().url;
    },
    handle: (h) => started().handle(h),
    last: () => started().last(),
    reset: () => started().reset(),
    close: () => started().close(),
  };
  const env = () => ({ SCOREGATE_URL: stub.url, SCOREGATE_TOKEN: "stub-token" });
  return { stub, dir, env };
}
