/**
 * Slows down guessing tokens on /ui/login: each client address may fail LOGIN_MAX_FAILURES times within
 * LOGIN_FAILURE_WINDOW_MS (from its first failure); after that every attempt from it is answered 429 with
 * Retry-After until the window ends, a right token included (else the throttle would tell a guess that hit).
 *
 * The counts live in the isolate (src/worker/isolate.ts), bounded by LOGIN_THROTTLE_MAX_ADDRESSES, and are lost when
 * it is: Cloudflare runs many isolates, so an address may get the limit once per isolate it reaches. That is the
 * trade-off of keeping sign-in free of storage writes; the tokens' length is what makes guessing hopeless, and this
 * keeps one address from trying fast. IPv6 addresses are counted per /64, the block one subscriber usually holds.
 */
import ipaddr from "ipaddr.js";
import { LOGIN_FAILURE_WINDOW_MS, LOGIN_MAX_FAILURES, LOGIN_THROTTLE_MAX_ADDRESSES } from "../platform/limits";

/** The key an address is counted under: IPv4 as is, IPv6 by its /64; anything unparsable shares one key. */
export function addressKey(header: string | undefined): string {
  if (header === undefined || !ipaddr.isValid(header.trim())) return "unknown";
  const addr = ipaddr.process(header.trim());
  if (addr.kind() === "ipv4") return addr.toString();
  return `${addr.toNormalizedString().split(":").slice(0, 4).join(":")}::/64`;
}

interface Entry {
  failures: number;
  since: number;
}

export class LoginThrottle {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly maxFailures = LOGIN_MAX_FAILURES,
    private readonly windowMs = LOGIN_FAILURE_WINDOW_MS,
    private readonly maxAddresses = LOGIN_THROTTLE_MAX_ADDRESSES,
  ) {}

  /**
   * Takes one attempt for `key` at `nowMs`, counted as a failure until `succeeded` forgives it (so attempts racing each
   * other are counted too): 0 when it may go ahead, otherwise the milliseconds until the address may try again.
   */
  attempt(key: string, nowMs: number): number {
    let entry = this.#entries.get(key);
    if (entry === undefined || nowMs - entry.since >= this.windowMs) {
      this.#entries.delete(key);
      this.#makeRoom(nowMs);
      entry = { failures: 0, since: nowMs };
      this.#entries.set(key, entry);
    }
    if (entry.failures >= this.maxFailures) return entry.since + this.windowMs - nowMs;
    entry.failures += 1;
    return 0;
  }

  /** The attempt just taken for `key` signed in: it does not count. */
  succeeded(key: string): void {
    const entry = this.#entries.get(key);
    if (entry !== undefined) entry.failures = Math.max(0, entry.failures - 1);
  }

  /** Addresses counted now (for tests of the bound). */
  get size(): number {
    return this.#entries.size;
  }

  /** Drops ended windows, then the oldest entries, until one more fits. */
  #makeRoom(nowMs: number): void {
    if (this.#entries.size < this.maxAddresses) return;
    for (const [key, e] of this.#entries) if (nowMs - e.since >= this.windowMs) this.#entries.delete(key);
    for (const key of this.#entries.keys()) {
      if (this.#entries.size < this.maxAddresses) break;
      this.#entries.delete(key);
    }
  }
}
