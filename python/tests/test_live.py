"""The client against the real Worker (local workerd, started by python/run-tests.mjs, which sets SCOREGATE_URL)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import sys
import unittest
import urllib.parse
import urllib.request

from scoregate import AsyncClient, Client, Gate
from support import Clock, wait_until

URL = os.environ.get("SCOREGATE_URL")
logging.getLogger("scoregate").setLevel(logging.CRITICAL)


def call(method: str, path: str, token: str, body=None):
    req = urllib.request.Request(
        URL + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


@unittest.skipUnless(URL, "needs the local worker: run `npm run test:python` (python/run-tests.mjs starts it and sets SCOREGATE_URL)")
class LiveTests(unittest.TestCase):
    gate = Gate("e5-python", "bge-python", index="docs")

    @classmethod
    def setUpClass(cls) -> None:
        rng = random.Random(20261201)
        queries = [[rng.random() for _ in range(20)] for _ in range(200)]
        cls.created = call(
            "POST",
            "/v1/calibrations",
            "dev-calibrate",
            {"index": "docs", "embedding": "e5-python", "reranker": "bge-python", "index_version": "v1", "policy": {"kind": "drop_rate", "target": 0.25}, "queries": queries},
        )["calibration"]

    def test_calibrated_then_cached_then_revalidated_with_304(self) -> None:
        clock = Clock()
        c = Client(URL, "dev-read", clock=clock, background=False)
        first = c.get_threshold(self.gate, fallback=0.5)
        self.assertEqual((first.reason, first.threshold, first.calibration_id), ("calibrated", self.created["threshold"], self.created["id"]))
        self.assertEqual(c.get_threshold(self.gate, fallback=0.5).reason, "cached")
        clock.advance(6)
        self.assertEqual(c.get_threshold(self.gate, fallback=0.5).reason, "stale")
        entry = c._cache.entries[self.gate.key()]
        self.assertTrue(wait_until(lambda: entry.inflight is None and entry.fetched_at == clock.t))
        after = c.get_threshold(self.gate, fallback=0.5)
        self.assertEqual((after.reason, after.threshold), ("cached", self.created["threshold"]))
        c.close()

    def test_gate_reports_observations_that_the_monitor_counts(self) -> None:
        c = Client(URL, "dev-read", background=False)
        rng = random.Random(7)
        for _ in range(30):
            r = c.gate([{"score": rng.random()} for _ in range(20)], self.gate, fallback=0.5)
            self.assertIn(r.reason, ("calibrated", "cached"))
        res = c.flush()
        self.assertEqual((res.sent_batches, res.failed_batches, res.stats.sent), (1, 0, 30))
        q = urllib.parse.urlencode({"index": "docs", "embedding": "e5-python", "reranker": "bge-python"})
        monitor = call("GET", f"/v1/monitor?{q}", "dev-read")
        self.assertGreaterEqual(sum(w["queries"] for w in monitor["windows"]), 30)
        c.close()

    def test_the_async_client_reads_gates_and_reports(self) -> None:
        async def serve() -> AsyncClient:
            rng = random.Random(11)
            async with AsyncClient(URL, "dev-read", background=False) as c:
                first = await c.get_threshold(self.gate, fallback=0.5)
                self.assertEqual((first.reason, first.calibration_id), ("calibrated", self.created["id"]))
                results = await asyncio.gather(*(c.gate([{"score": rng.random()} for _ in range(20)], self.gate, fallback=0.5) for _ in range(10)))
                self.assertEqual({r.reason for r in results}, {"cached"})
            return c

        c = asyncio.run(serve())
        self.assertEqual((c.observation_stats().sent, c.observation_stats().queued), (10, 0))

    def test_an_uncalibrated_gate_answers_the_fallback(self) -> None:
        c = Client(URL, "dev-read", background=False)
        r = c.get_threshold(Gate("nobody", "nothing"), fallback=0.33)
        self.assertEqual((r.reason, r.threshold, r.calibration_id), ("uncalibrated", 0.33, None))
        c.close()

    def test_an_unknown_token_stops_the_client(self) -> None:
        c = Client(URL, "not-a-token", background=False)
        r = c.get_threshold(self.gate, fallback=0.5)
        self.assertEqual((r.reason, r.error.code), ("fallback", "unauthorized"))
        self.assertEqual(c.auth_error.code, "unauthorized")
        c.close()



def upload(embedding: str, version: str, seed: int, activate: bool, offset: float = 0.0) -> dict:
    rng = random.Random(seed)
    queries = [[min(1.0, rng.random() + offset) for _ in range(20)] for _ in range(200)]
    body = {"index": "docs", "embedding": embedding, "reranker": "bge-python", "index_version": version, "policy": {"kind": "drop_rate", "target": 0.25}, "queries": queries, "activate": activate}
    return call("POST", "/v1/calibrations", "dev-calibrate", body)["calibration"]


@unittest.skipUnless(URL, "needs the local worker: run `npm run test:python` (python/run-tests.mjs starts it and sets SCOREGATE_URL)")
class LivePromotionTests(unittest.TestCase):
    """Pushed changes, promotion arms and shadows against the real Worker, each on a gate of its own (named afresh for
    each run: run-tests.mjs runs the suite once per Python against the same worker)."""

    def setUp(self) -> None:
        # not random: this Python's version and process, unique among the runs sharing the worker
        self.run_id = f"py{sys.version_info.major}{sys.version_info.minor}-{os.getpid()}"

    def test_a_streaming_client_serves_a_pushed_activation_and_tells_its_listener(self) -> None:
        v1 = upload(f"e5-python-stream-{self.run_id}", "v1", 1, True)
        v2 = upload(f"e5-python-stream-{self.run_id}", "v2", 2, False, 0.1)
        gate = Gate(f"e5-python-stream-{self.run_id}", "bge-python", index="docs")
        c = Client(URL, "dev-read", background=False, stream=True)
        self.addCleanup(c.close)
        seen = []
        c.subscribe(seen.append)
        self.assertEqual(c.get_threshold(gate, fallback=0.5).calibration_id, v1["id"])
        self.assertTrue(wait_until(lambda: len(c.streams()) == 1 and list(c.streams().values())[0] is not None, timeout=10))
        call("POST", f"/v1/calibrations/{v2['id']}/activate", "dev-admin", {"reason": "python live test"})
        self.assertTrue(wait_until(lambda: any(e.type == "calibration" and e.calibration_id == v2["id"] for e in seen), timeout=10))
        pushed = [e for e in seen if e.type == "calibration" and e.calibration_id == v2["id"]][0]
        self.assertEqual((pushed.previous_calibration_id, pushed.threshold), (v1["id"], v2["threshold"]))
        self.assertTrue(any(e.type == "gate" and e.event["served"]["calibration_id"] == v2["id"] for e in seen))
        r = c.get_threshold(gate, fallback=0.5)
        self.assertEqual((r.calibration_id, r.reason), (v2["id"], "cached"))

    def test_promotion_arms_by_key_are_served_and_counted_per_arm(self) -> None:
        v1 = upload(f"e5-python-promo-{self.run_id}", "v1", 3, True)
        v2 = upload(f"e5-python-promo-{self.run_id}", "v2", 4, False)
        gate = Gate(f"e5-python-promo-{self.run_id}", "bge-python", index="docs")
        p = call("POST", f"/v1/calibrations/{v2['id']}/promote", "dev-admin", {"steps": [50, 100], "min_queries": 200})
        self.addCleanup(lambda: call("POST", f"/v1/promotions/{p['id']}/rollback", "dev-admin", {"reason": "python live test done"}))
        c = Client(URL, "dev-read", background=False)
        self.addCleanup(c.close)
        rng = random.Random(5)
        arms = {}
        for i in range(200):
            r = c.gate([{"score": rng.random()} for _ in range(20)], gate, fallback=0.5, assignment_key=f"user-{i}")
            self.assertEqual(r.calibration_id, v2["id"] if r.promotion["arm"] == "candidate" else v1["id"])
            arms[r.promotion["arm"]] = arms.get(r.promotion["arm"], 0) + 1
        # about half of 200 keys at 50 %: both arms served (each below 140 with overwhelming probability)
        self.assertEqual(set(arms), {"candidate", "control"})
        self.assertTrue(60 < arms["candidate"] < 140, arms)
        self.assertEqual(c.flush().failed_batches, 0)
        evidence = call("GET", f"/v1/promotions/{p['id']}", "dev-read")["evidence"]
        self.assertEqual((evidence["candidate_queries"], evidence["control_queries"]), (arms["candidate"], arms["control"]))

    def test_a_shadow_samples_keys_and_its_mirrored_queries_are_counted(self) -> None:
        upload(f"e5-python-shadow-{self.run_id}", "v1", 6, True)
        v2 = upload(f"e5-python-shadow-{self.run_id}", "v2", 7, False)
        gate = Gate(f"e5-python-shadow-{self.run_id}", "bge-python", index="docs")
        call("POST", f"/v1/calibrations/{v2['id']}/shadow", "dev-admin", {"sample_rate": 0.5})
        c = Client(URL, "dev-read", background=False)
        self.addCleanup(c.close)
        c.get_threshold(gate, fallback=0.5)
        rng = random.Random(8)
        mirrored = 0
        for i in range(100):
            named = c.shadows_for(gate, key=f"user-{i}")
            self.assertIn(len(named), (0, 1))
            if named:
                ids = c.shadow([{"score": rng.random()} for _ in range(20)], gate, key=f"user-{i}", score="score")
                self.assertEqual(ids, [v2["id"]])
                mirrored += 1
        self.assertTrue(25 < mirrored < 75, mirrored)
        self.assertEqual(c.flush().failed_batches, 0)
        shadows = call("GET", f"/v1/gates/{v2['gate_id']}/shadows", "dev-read")["shadows"]
        self.assertEqual([(s["calibration_id"], s["queries"]) for s in shadows], [(v2["id"], mirrored)])


if __name__ == "__main__":
    unittest.main()
