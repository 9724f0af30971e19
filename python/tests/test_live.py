"""The client against the real Worker (local workerd, started by python/run-tests.mjs, which sets SCOREGATE_URL)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
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


if __name__ == "__main__":
    unittest.main()
