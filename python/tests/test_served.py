"""``gate(..., served=t)``: a query retrieved from the index version a ``get_threshold`` named is gated and reported
under that answer (its threshold, guards, cutoff, calibration and promotion arm), even when a promotion step or a
rollback changes the arm before ``gate()`` runs; both clients."""

from __future__ import annotations

import asyncio
import logging
import unittest
from typing import Any, Dict, List

from scoregate import AsyncClient, Client, Gate
from support import CACHE_CONTROL, Clock, StubServer, threshold_body, wait_until

GATE = Gate("e5", "bge", index="docs")
CONTROL, CANDIDATE = "cal_0000000001", "cal_0000000002"
PROMOTION = "prm_0000000001"
KEY = "session-7"
logging.getLogger("scoregate").setLevel(logging.CRITICAL)


def served_at(step: int, percent_bp: int) -> Dict[str, Any]:
    """The gate's answer during the promotion's ``step``: control v1 at 0.3, candidate v2 at 0.6 with guards."""
    candidate = {
        **threshold_body(CANDIDATE, 0.6),
        "index_version": "v2",
        "guards": {"min_keep": 1, "max_keep": None},
        "abstain_below": None,
    }
    rollout = {"promotion_id": PROMOTION, "step": step, "percent_bp": percent_bp, "salt": PROMOTION, "state": "running", "candidate": candidate}
    return {**threshold_body(CONTROL, 0.3), "rollout": rollout, "shadows": []}


class ServedTests(unittest.TestCase):
    def setUp(self) -> None:
        self.stub = StubServer()
        self.addCleanup(self.stub.close)
        self.seq = 1
        self.body = served_at(0, 0)  # step 0: every key is in the control arm
        self.stub.handler = lambda m, p, h, b: (
            (202, {}, {"accepted": True}) if m == "POST" else (200, {"ETag": f'"{CONTROL}.{self.seq}"', "Cache-Control": CACHE_CONTROL}, self.body)
        )
        self.clock = Clock()

    def posts(self) -> List[Dict[str, Any]]:
        return [r["body"] for r in self.stub.requests if r["method"] == "POST"]

    def advance_the_step(self, read: Any) -> None:
        """Step 1 at 100 %: the key is in the candidate arm now; ``read`` (a fresh read) must see it."""
        self.body, self.seq = served_at(1, 10_000), 2
        self.clock.advance(6)  # past max-age: the next read revalidates
        read()
        self.assertTrue(wait_until(lambda: read().promotion == {"id": PROMOTION, "step": 1, "arm": "candidate"}))

    def test_gate_applies_the_answer_the_candidates_were_retrieved_under(self) -> None:
        c = Client(self.stub.url, "t", background=False, clock=self.clock)
        self.addCleanup(c.close)
        t = c.get_threshold(GATE, 0.5, assignment_key=KEY)
        self.assertEqual((t.calibration_id, t.index_version, t.promotion), (CONTROL, "v1", {"id": PROMOTION, "step": 0, "arm": "control"}))
        retrieved = [{"score": 0.5}, {"score": 0.4}, {"score": 0.2}]  # from t.index_version
        self.advance_the_step(lambda: c.get_threshold(GATE, 0.5, assignment_key=KEY))
        requests = len(self.stub.requests)
        r = c.gate(retrieved, GATE, fallback=0.5, assignment_key=KEY, served=t)
        self.assertEqual(len(self.stub.requests), requests)  # nothing read again
        self.assertEqual((r.kept, r.threshold, r.calibration_id, r.index_version), (retrieved[:2], 0.3, CONTROL, "v1"))
        self.assertEqual(r.promotion, {"id": PROMOTION, "step": 0, "arm": "control"})
        # without served, the same call gates v1's candidates at the candidate's threshold and guards
        now = c.gate(retrieved, GATE, fallback=0.5, assignment_key=KEY, report=False)
        self.assertEqual((len(now.kept), now.threshold, now.calibration_id, now.index_version), (1, 0.6, CANDIDATE, "v2"))
        self.assertEqual(c.flush().sent_batches, 1)
        [post] = self.posts()
        self.assertEqual((post["calibration_id"], post["promotion"], post["queries"]), (CONTROL, {"id": PROMOTION, "step": 0, "arm": "control"}, [[3, 1]]))

    def test_the_served_guards_and_the_served_candidate_arm_apply(self) -> None:
        self.body = served_at(1, 10_000)
        c = Client(self.stub.url, "t", background=False, clock=self.clock)
        self.addCleanup(c.close)
        t = c.get_threshold(GATE, 0.5, assignment_key=KEY)
        self.assertEqual((t.calibration_id, t.promotion["arm"]), (CANDIDATE, "candidate"))  # type: ignore[index]
        self.body, self.seq = {**served_at(2, 0), "rollout": None}, 2  # rolled back: the control alone, no promotion
        self.clock.advance(6)
        c.get_threshold(GATE, 0.5)
        self.assertTrue(wait_until(lambda: c.get_threshold(GATE, 0.5, assignment_key=KEY).promotion is None))
        retrieved = [{"score": 0.2}, {"score": 0.1}]  # v2's: below 0.6, the guard keeps the top one
        r = c.gate(retrieved, served=t)  # type: ignore[call-arg]  # the gate is not read: served says it all
        self.assertEqual((r.kept, r.calibration_id, r.promotion["arm"]), ([retrieved[0]], CANDIDATE, "candidate"))  # type: ignore[index]
        c.flush()
        [post] = self.posts()
        self.assertEqual((post["calibration_id"], post["promotion"], post["queries"]), (CANDIDATE, {"id": PROMOTION, "step": 1, "arm": "candidate"}, [[2, 1, 2, 0]]))

    def test_the_async_client_applies_it_too(self) -> None:
        async def main() -> None:
            async with AsyncClient(self.stub.url, "t", background=False, clock=self.clock) as c:
                t = await c.get_threshold(GATE, 0.5, assignment_key=KEY)
                self.body, self.seq = served_at(1, 10_000), 2
                self.clock.advance(6)
                await c.get_threshold(GATE, 0.5)
                for _ in range(300):
                    if (await c.get_threshold(GATE, 0.5, assignment_key=KEY)).promotion["arm"] == "candidate":  # type: ignore[index]
                        break
                    await asyncio.sleep(0.01)
                retrieved = [{"score": 0.5}, {"score": 0.2}]
                r = await c.gate(retrieved, GATE, fallback=0.5, assignment_key=KEY, served=t)
                self.assertEqual((r.kept, r.calibration_id, r.promotion), ([retrieved[0]], CONTROL, {"id": PROMOTION, "step": 0, "arm": "control"}))
                now = await c.gate(retrieved, GATE, fallback=0.5, assignment_key=KEY, report=False)
                self.assertEqual(now.calibration_id, CANDIDATE)
                await c.flush()

        asyncio.run(main())
        [post] = self.posts()
        self.assertEqual((post["calibration_id"], post["promotion"]["arm"], post["promotion"]["step"]), (CONTROL, "control", 0))


if __name__ == "__main__":
    unittest.main()
