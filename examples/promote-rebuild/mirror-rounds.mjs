/**
 * The service loop of mirror.mjs, apart so that test/e2e/promotion-flow.workerd.test.ts runs this very loop with the
 * README's parameters (the SDK's source client there, its build here). Types: mirror-rounds.d.mts.
 *
 * Round r serves every live query once, its user `${key}-r${r}`, so each run of the example starts with the same users
 * and each round is new users. For every query the service reads the threshold with the user as assignment key (during
 * a promotion the key's arm decides which index version answers), gates that version's scores with `gate()`, and
 * mirrors the v2 scores to the gate's shadows with `shadow()` (`@scoregate/client/shadow`, passed in with the client). The SDK's reports are flushed every FLUSH_EVERY queries
 * (its own timer may send some sooner), so the Worker has counted each round by its end.
 */

/** Queries served between two explicit flushes of the SDK's observation reports. */
export const FLUSH_EVERY = 250;

export async function mirrorRounds(client, lines, { gate, rounds, shadow, onQuery, afterRound }) {
  const served = new Map();
  const shadowed = new Map();
  const score = (s) => s;
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < lines.length; i++) {
      const q = lines[i];
      const key = `${q.key}-r${round}`;
      const t = await client.getThreshold(gate, { fallback: 0.4, assignmentKey: key });
      // gated with t, the answer the index version was chosen by (not read again: a step between the two would gate
      // one index's candidates with the other arm's threshold and count them as its evidence)
      const result = await client.gate(t.indexVersion === "v2" ? q.v2 : q.v1, { gate, score, fallback: 0.4, served: t });
      const arm = result.promotion?.arm ?? "no promotion";
      served.set(arm, (served.get(arm) ?? 0) + 1);
      const shadows = await shadow(client, q.v2, { gate, score, key, indexVersion: "v2" });
      for (const id of shadows) shadowed.set(id, (shadowed.get(id) ?? 0) + 1);
      onQuery?.({ query: q, result, shadows });
      if ((i + 1) % FLUSH_EVERY === 0 || i === lines.length - 1) await client.flush();
    }
    await afterRound?.(round);
  }
  return { served, shadowed };
}
