/**
 * A real local webhook receiver for the workers tests (vitest globalSetup, runs in Node). Each hook path
 * /hook/<name> has a mode set by the test: "ok" (204), "down" (503), "gone" (410), "throttled" (429 with
 * Retry-After: 7200), "redirect" (302 to the cloud metadata address, which must never be followed), "hang" (answers
 * only after HANG_MS, longer than the sender's timeout; recorded with answered 0). Every request is verified with the
 * `standardwebhooks` package, an independent implementation of the Standard Webhooks spec, and recorded.
 *   POST /_control/<name>  {"mode": "...", "secret": "whsec_..."}   set mode (and the secret to verify with)
 *   GET  /_received/<name>                                          what arrived, in order
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";
import { Webhook } from "./standard-webhooks";

interface Hook {
  mode: "ok" | "down" | "gone" | "throttled" | "redirect" | "hang";
  secret: string | null;
  received: { id: string; timestamp: string; signature: string; body: unknown; verified: boolean; answered: number }[];
}

declare module "vitest" {
  export interface ProvidedContext {
    receiverOrigin: string;
  }
}

/** How long a "hang" hook waits before answering: past the sender's 10 s timeout (WEBHOOK_TIMEOUT_MS). */
const HANG_MS = 15_000;

const hooks = new Map<string, Hook>();
const hook = (name: string): Hook => {
  const existing = hooks.get(name);
  if (existing) return existing;
  const created: Hook = { mode: "ok", secret: null, received: [] };
  hooks.set(name, created);
  return created;
};

const readBody = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
};

let server: Server | null = null;
/** The "hang" hooks' pending answers, cleared at teardown (a pending one would keep vitest's process alive). */
const hanging = new Set<NodeJS.Timeout>();

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://receiver");
    const [, kind, name] = url.pathname.split("/");
    const body = await readBody(req);
    if (kind === "_control" && name) {
      const { mode, secret } = JSON.parse(body) as { mode?: Hook["mode"]; secret?: string };
      const h = hook(name);
      if (mode) h.mode = mode;
      if (secret) h.secret = secret;
      res.writeHead(204).end();
    } else if (kind === "_received" && name) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(hook(name).received));
    } else if (kind === "hook" && name) {
      const h = hook(name);
      const headers = {
        "webhook-id": String(req.headers["webhook-id"] ?? ""),
        "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
        "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
      };
      let verified = false;
      if (h.secret) {
        try {
          new Webhook(h.secret).verify(body, headers);
          verified = true;
        } catch {
          verified = false;
        }
      }
      const answered = { ok: 204, gone: 410, down: 503, throttled: 429, redirect: 302, hang: 0 }[h.mode];
      h.received.push({
        id: headers["webhook-id"],
        timestamp: headers["webhook-timestamp"],
        signature: headers["webhook-signature"],
        body: JSON.parse(body),
        verified,
        answered,
      });
      const extra: Record<string, string> =
        h.mode === "throttled" ? { "retry-after": "7200" } : h.mode === "redirect" ? { location: "http://169.254.169.254/latest/meta-data/" } : {};
      if (h.mode === "hang") {
        const timer = setTimeout(() => {
          hanging.delete(timer);
          res.writeHead(204).end();
        }, HANG_MS);
        hanging.add(timer);
      } else res.writeHead(answered, extra).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  project.provide("receiverOrigin", `http://127.0.0.1:${port}`);
  return async () => {
    // A "hang" hook's request is still open for up to HANG_MS after its test gave up on it: close() alone waits for it.
    for (const timer of hanging) clearTimeout(timer);
    hanging.clear();
    server!.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
  };
}
