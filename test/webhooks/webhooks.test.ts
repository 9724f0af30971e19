import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AppError } from "../../src/platform/errors";
import { WEBHOOK_RETRY_DELAYS_MS } from "../../src/platform/limits";
import { nextAttemptAfter, retryAfterMs } from "../../src/webhooks/delivery";
import { newWebhookSecret, signWebhook, webhookHeaders } from "../../src/webhooks/signature";
import { checkWebhookUrl, isNonPublicHost } from "../../src/webhooks/targets";
import { createRng } from "../support/prng";
import { Webhook, WebhookVerificationError } from "../support/standard-webhooks";

/** Seeded secret bytes (never Math.random). */
const bytes = (n: number, seed: number): Uint8Array => {
  const rng = createRng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rng.next() * 256));
};

// The reference package checks the timestamp against Date.now() (5 minutes tolerance): pin the clock.
const NOW_S = Math.floor(Date.UTC(2026, 10, 24, 12, 0, 0) / 1000);
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOW_S * 1000 + 30_000);
});
afterEach(() => {
  vi.useRealTimers();
});

const BODIES = [
  "",
  '{"type":"alert.opened","data":{"kind":"drop_rate_drift"}}',
  '{"text":"drop rate 31.2 % vs 30.0 %\\nline two","emoji":"🎉 日本語 é"}',
  "line one\nline two\r\n",
];

describe("signWebhook against the standardwebhooks package", () => {
  const secrets = [newWebhookSecret(bytes(24, 1)), newWebhookSecret(bytes(32, 2)), newWebhookSecret(bytes(64, 3))];

  for (const [si, secret] of secrets.entries()) {
    for (const [bi, body] of BODIES.entries()) {
      it(`signs exactly as the reference (secret ${si}, body ${bi})`, async () => {
        const id = `evt_${si}_${bi}`;
        const ours = await signWebhook(secret, id, NOW_S, body);
        expect(ours).toBe(new Webhook(secret).sign(id, new Date(NOW_S * 1000), body));
        expect(ours).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/); // 32-byte HMAC-SHA256 in base64
      });
    }
  }

  it("produces headers that the reference verifies, returning the payload", async () => {
    const secret = newWebhookSecret(bytes(24, 4));
    const body = BODIES[1]!;
    const headers = await webhookHeaders(secret, "evt_1", NOW_S, body);
    expect(headers).toEqual({
      "content-type": "application/json",
      "webhook-id": "evt_1",
      "webhook-timestamp": String(NOW_S),
      "webhook-signature": await signWebhook(secret, "evt_1", NOW_S, body),
    });
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("is refused by the reference when the body, id, timestamp or secret differ", async () => {
    const secret = newWebhookSecret(bytes(24, 5));
    const body = BODIES[1]!;
    const headers = await webhookHeaders(secret, "evt_1", NOW_S, body);
    const wh = new Webhook(secret);
    expect(() => wh.verify(`${body} `, headers)).toThrow(WebhookVerificationError);
    expect(() => wh.verify(body, { ...headers, "webhook-id": "evt_2" })).toThrow(WebhookVerificationError);
    expect(() => wh.verify(body, { ...headers, "webhook-timestamp": String(NOW_S + 1) })).toThrow(WebhookVerificationError);
    expect(() => new Webhook(newWebhookSecret(bytes(24, 6))).verify(body, headers)).toThrow(WebhookVerificationError);
  });

  it("refuses a secret without the whsec_ prefix", async () => {
    await expect(signWebhook("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "evt", NOW_S, "{}")).rejects.toThrow(TypeError);
  });
});

describe("newWebhookSecret", () => {
  it("is whsec_ and the base64 of the given bytes", () => {
    const raw = bytes(24, 7);
    const secret = newWebhookSecret(raw);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/); // 24 bytes: 32 base64 characters, no padding
    expect(Uint8Array.from(Buffer.from(secret.slice("whsec_".length), "base64"))).toEqual(raw);
    expect(newWebhookSecret(bytes(64, 8))).toMatch(/^whsec_[A-Za-z0-9+/]{86}==$/);
  });

  it("yields a secret the reference accepts for verification", async () => {
    const secret = newWebhookSecret(bytes(24, 9));
    const headers = await webhookHeaders(secret, "evt_new", NOW_S, "{}");
    expect(new Webhook(secret).verify("{}", headers)).toEqual({});
  });

  it("refuses fewer than 24 random bytes", () => {
    expect(() => newWebhookSecret(bytes(23, 10))).toThrow(RangeError);
  });
});

describe("checkWebhookUrl", () => {
  /** The 422 a URL gets, or null when it is accepted. */
  const refusal = (url: string, production: boolean): AppError | null => {
    try {
      checkWebhookUrl(url, production);
      return null;
    } catch (e) {
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).code).toBe("invalid_input");
      return e as AppError;
    }
  };

  const publicUrls = [
    "https://hooks.example.com/scoregate",
    "https://hooks.slack.com/services/T000/B000/XXXX",
    "https://1.1.1.1/hook",
    "https://11.0.0.1/hook", // just past 10/8
    "https://172.32.0.1/hook", // just past 172.16/12
    "https://172.15.255.255/hook", // just before 172.16/12
    "https://100.128.0.1/hook", // just past 100.64/10
    "https://169.255.0.1/hook", // just past 169.254/16
    "https://192.169.0.1/hook", // just past 192.168/16
    "https://[2606:4700:4700::1111]/hook",
    "https://example.localhost.com/hook", // only the suffix matters
  ];
  for (const url of publicUrls) {
    it(`accepts ${url} in production`, () => {
      expect(refusal(url, true)).toBeNull();
    });
  }

  const nonPublic = [
    "https://10.0.0.1/",
    "https://10.255.255.255/",
    "https://172.16.0.1/",
    "https://172.31.255.255/",
    "https://192.168.1.1/",
    "https://127.0.0.1/",
    "https://127.8.9.10/",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/",
    "https://100.127.255.255/",
    "https://0.0.0.0/",
    "https://2130706433/", // 127.0.0.1 as one number: the URL parser normalizes it
    "https://0x7f.1/", // 127.0.0.1 in hex shorthand
    "https://[::1]/",
    "https://[::]/",
    "https://[fc00::]/",
    "https://[fd12:3456::1]/",
    "https://[fe80::]/",
    "https://[fe80::1]/",
    "https://[febf::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://[::ffff:10.1.2.3]/",
    "https://[::ffff:a9fe:a9fe]/", // 169.254.169.254
    "https://localhost/",
    "https://LOCALHOST./",
    "https://foo.localhost/",
    "https://x.local/",
    "https://x.internal/",
    "https://metadata.google.internal/",
  ];
  for (const url of nonPublic) {
    it(`refuses ${url} in production`, () => {
      const err = refusal(url, true);
      expect(err).not.toBeNull();
      expect(err!.details).toEqual([{ path: "url", message: "non-public host" }]);
    });
  }

  it("refuses http:// in production and allows it for a local receiver in development", () => {
    expect(refusal("http://hooks.example.com/x", true)?.details).toEqual([{ path: "url", message: "not https" }]);
    expect(refusal("http://localhost/x", false)).toBeNull();
  });

  it("allows only a local (loopback) receiver in development", () => {
    for (const url of [
      "http://localhost:8787/hook",
      "http://127.0.0.1:9000/hook",
      "http://[::1]:9000/hook",
      "http://a.localhost/",
      "http://localhost../",
    ]) {
      expect(refusal(url, false), url).toBeNull();
    }
    for (const url of [
      "https://hooks.example.com/x",
      "http://169.254.169.254/latest/meta-data/",
      "https://x.internal/",
      "http://10.0.0.1/",
      "http://[fe80::1]/",
    ]) {
      expect(refusal(url, false)?.details, url).toEqual([{ path: "url", message: "not loopback" }]);
    }
  });

  for (const production of [true, false]) {
    it(`refuses credentials in the URL (production ${production})`, () => {
      for (const url of ["https://user:pass@hooks.example.com/x", "https://user@hooks.example.com/x", "https://:pass@hooks.example.com/x"]) {
        expect(refusal(url, production)?.details).toEqual([{ path: "url", message: "credentials in URL" }]);
      }
    });

    it(`refuses what is not an http(s) URL (production ${production})`, () => {
      for (const url of ["not a url", "ftp://hooks.example.com/x", "javascript:alert(1)", "file:///etc/passwd"]) {
        expect(refusal(url, production)).not.toBeNull();
      }
    });
  }

  it("returns the normalized URL", () => {
    expect(checkWebhookUrl("https://Hooks.Example.COM/a b?x=1", true)).toBe("https://hooks.example.com/a%20b?x=1");
  });
});

describe("isNonPublicHost", () => {
  it("reads hostnames with or without brackets, in any case, with a trailing dot", () => {
    for (const host of ["[::1]", "::1", "FE80::1", "[FC00::1]", "::ffff:127.0.0.1", "::FFFF:7F00:1", "Foo.LocalHost", "x.local.", "192.168.0.1"]) {
      expect(isNonPublicHost(host), host).toBe(true);
    }
    for (const host of ["hooks.example.com", "8.8.8.8", "2606:4700::1111", "fc.example.com", "local", "internal.example.com"]) {
      expect(isNonPublicHost(host), host).toBe(false);
    }
  });

  it("does not take a dotted name that merely looks numeric for an address", () => {
    expect(isNonPublicHost("10.0.0.1.example.com")).toBe(false);
    expect(isNonPublicHost("256.0.0.1")).toBe(false);
  });
});

describe("nextAttemptAfter", () => {
  it("retries for at least 24 hours in all, with non-decreasing delays, then gives up", () => {
    const t0 = new Date(Date.UTC(2026, 10, 24, 12, 0, 0));
    let at = t0;
    const delays: number[] = [];
    for (let attempts = 1; ; attempts++) {
      const next = nextAttemptAfter(attempts, at);
      if (next === null) {
        expect(attempts).toBe(WEBHOOK_RETRY_DELAYS_MS.length + 1);
        break;
      }
      expect(next).toBe(new Date(Date.parse(next)).toISOString());
      delays.push(Date.parse(next) - at.getTime());
      at = new Date(next);
      expect(attempts).toBeLessThan(100);
    }
    expect(delays).toEqual([...WEBHOOK_RETRY_DELAYS_MS]);
    expect(delays[0]).toBe(60_000); // the first retry is at the next cron tick
    for (let i = 1; i < delays.length; i++) expect(delays[i]!).toBeGreaterThanOrEqual(delays[i - 1]!);
    expect(at.getTime() - t0.getTime()).toBeGreaterThanOrEqual(24 * 3600 * 1000);
  });

  it("a Retry-After postpones the next attempt, never brings it forward, and is capped at a day", () => {
    const now = new Date(Date.UTC(2026, 10, 24));
    expect(Date.parse(nextAttemptAfter(1, now, 7200_000)!) - now.getTime()).toBe(7200_000);
    expect(Date.parse(nextAttemptAfter(1, now, 1_000)!) - now.getTime()).toBe(WEBHOOK_RETRY_DELAYS_MS[0]);
    expect(Date.parse(nextAttemptAfter(1, now, 30 * 86_400_000)!) - now.getTime()).toBe(86_400_000);
    expect(retryAfterMs("120", now)).toBe(120_000);
    expect(retryAfterMs(new Date(now.getTime() + 60_000).toUTCString(), now)).toBe(60_000);
    expect(retryAfterMs("soon", now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });

  it("is null after the last attempt and later", () => {
    const now = new Date(Date.UTC(2026, 10, 24));
    expect(nextAttemptAfter(WEBHOOK_RETRY_DELAYS_MS.length, now)).not.toBeNull();
    expect(nextAttemptAfter(WEBHOOK_RETRY_DELAYS_MS.length + 1, now)).toBeNull();
    expect(nextAttemptAfter(WEBHOOK_RETRY_DELAYS_MS.length + 5, now)).toBeNull();
  });
});

describe("embedded IPv4 forms", () => {
  it("refuses NAT64 and IPv4-compatible IPv6 literals in production", () => {
    for (const url of ["https://[64:ff9b::7f00:1]/x", "https://[::127.0.0.1]/x", "https://[::7f00:1]/x"]) {
      expect(() => checkWebhookUrl(url, true), url).toThrow();
    }
    expect(() => checkWebhookUrl("https://[2606:4700::1111]/x", true)).not.toThrow();
  });
});
