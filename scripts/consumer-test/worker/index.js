// A consumer Worker: the SDK from its installed tarball, one client per isolate, created on the first request (env
// holds the URL; the constructor starts nothing, so module scope would do too), background work through
// ctx.waitUntil. Bundled with `wrangler deploy --dry-run`, then run in workerd by scripts/consumer-test.mjs.
import { ScoregateClient } from "@scoregate/client";

let client;

export default {
  async fetch(_request, env, ctx) {
    client ??= new ScoregateClient({ baseUrl: env.SCOREGATE_URL, token: "dev-read", observations: { timer: false } });
    const gate = JSON.parse(env.GATE);
    const waitUntil = ctx.waitUntil.bind(ctx);
    const result = await client.gate([0.9, 0.1, Number(env.EXPECT_THRESHOLD)], { gate, score: (s) => s, fallback: 0.5, waitUntil });
    ctx.waitUntil(client.flush());
    return Response.json({ reason: result.reason, threshold: result.threshold, kept: result.kept, userAgent: client.userAgent });
  },
};
