import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without type declarations
import { deployConfigProblems, ingestProblems } from "../../scripts/check-deploy-config.mjs";

describe("deploy guard", () => {
  it("refuses the repository's wrangler.toml as shipped (placeholder D1 and KV ids), naming the commands", () => {
    const problems: string[] = deployConfigProblems(readFileSync("wrangler.toml", "utf8"));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain("npx wrangler d1 create scoregate");
    expect(problems[1]).toContain("npx wrangler kv namespace create THRESHOLDS");
  });

  it("accepts real ids", () => {
    const toml = readFileSync("wrangler.toml", "utf8")
      .replace("00000000-0000-4000-8000-000000000000", "9f3c2a4e-1b7d-4c8e-a2f0-5d6e7f8a9b0c")
      .replace('id = "00000000000000000000000000000000"', 'id = "3b5f8e2a9c4d4e1fa7b6c5d4e3f2a1b0"');
    expect(deployConfigProblems(toml)).toEqual([]);
  });

  it("exits non-zero before wrangler is ever called (npm run deploy)", () => {
    let status = 0;
    try {
      execFileSync(process.execPath, ["scripts/check-deploy-config.mjs"], { stdio: "pipe" });
    } catch (e) {
      status = (e as { status: number }).status;
    }
    expect(status).toBe(1);
    // The guard runs first; nothing after it (asset copy, upload) runs when it fails.
    expect(JSON.parse(readFileSync("package.json", "utf8")).scripts.deploy).toMatch(/^node scripts\/check-deploy-config\.mjs && .*wrangler deploy$/);
  });

  it("checks OBSERVATION_INGEST: direct (as shipped) passes, queue needs its producer and consumer, a typo is refused", () => {
    const toml = readFileSync("wrangler.toml", "utf8");
    expect(ingestProblems(toml)).toEqual([]);
    const queue = toml.replace('OBSERVATION_INGEST = "direct"', 'OBSERVATION_INGEST = "queue"');
    expect(ingestProblems(queue)).toEqual([]);
    const typo: string[] = ingestProblems(toml.replace('OBSERVATION_INGEST = "direct"', 'OBSERVATION_INGEST = "queued"'));
    expect(typo).toEqual([expect.stringContaining('OBSERVATION_INGEST = "queued" in wrangler.toml is not a mode')]);
    // queue mode with the [[queues.producers]] and [[queues.consumers]] sections cut out
    const withoutQueues = queue.replace(/^\[\[queues\.producers\]\][\s\S]*?(?=^\[\[migrations\]\])/mu, "");
    const problems: string[] = ingestProblems(withoutQueues);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain("OBSERVATIONS_QUEUE");
    expect(problems[1]).toContain("[[queues.consumers]]");
  });
});
