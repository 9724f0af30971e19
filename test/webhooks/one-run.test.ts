// Alerts raised together (several tests alarming in one batch, drained by the monitor at once) share one delivery run:
// each raise used to start a run of its own, WEBHOOK_CONCURRENCY requests each, two at a time to one endpoint.
import { describe, expect, it } from "vitest";
import { oneRunAtATime } from "../../src/webhooks/delivery";

describe("oneRunAtATime", () => {
  it("a trigger during a run asks it to go once more when it ends: two runs for any number of triggers meanwhile", async () => {
    const ends: (() => void)[] = [];
    let started = 0;
    const deferred: Promise<unknown>[] = [];
    const trigger = oneRunAtATime(
      () => {
        started++;
        return new Promise<void>((resolve) => ends.push(resolve));
      },
      (work) => deferred.push(work),
    );
    trigger();
    trigger();
    trigger();
    expect(started).toBe(1);
    expect(deferred).toHaveLength(1); // one piece of work kept alive past the response
    ends[0]!();
    await Promise.resolve();
    await Promise.resolve();
    expect(started).toBe(2); // once more, for the two triggers that came during the first run
    ends[1]!();
    await deferred[0];
    expect(started).toBe(2);
    // idle again: the next trigger starts a run of its own
    trigger();
    expect(started).toBe(3);
    ends[2]!();
    await deferred[1];
  });

  it("a run that throws ends the loop and leaves the trigger usable", async () => {
    let calls = 0;
    const deferred: Promise<unknown>[] = [];
    const trigger = oneRunAtATime(
      async () => {
        calls++;
        throw new Error("D1 down");
      },
      (work) => deferred.push(work.catch(() => {})),
    );
    trigger();
    await deferred[0];
    trigger();
    await deferred[1];
    expect(calls).toBe(2);
  });
});
