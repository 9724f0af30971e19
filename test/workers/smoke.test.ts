import { exports } from "cloudflare:workers";
import { env } from "cloudflare:workers";
import { it, expect } from "vitest";
it("serves", async () => {
  const r = await exports.default.fetch("http://x/healthz");
  expect(await r.text()).toBe("ok");
  expect((await env.DB.prepare("select 1 as one").first())).toEqual({ one: 1 });
});
