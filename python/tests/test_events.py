"""``subscribe``: every change of the cache told to listeners as a ClientEvent, with the TypeScript client's rules: a
new calibration (with the one it replaced), uncalibrated once, the first error of a run of failures and then the
recovery, the refused token once; a listener that raises is logged and changes nothing; unsubscribe stops it; the
asyncio client tells its listeners on its loop."""

from __future__ import annotations

import asyncio
import logging
import unittest
from typing import Any, List

from scoregate import AsyncClient, Client, ClientEvent, Gate
from support import Clock, StubServer, error, ok, wait_until

GATE = Gate("e5", "bge", index="docs")
logging.getLogger("scoregate").setLevel(logging.CRITICAL)


def summary(events: List[ClientEvent]) -> List[Any]:
    return [(e.type, e.calibration_id, e.previous_calibration_id, e.error.code if e.error else None) for e in events]


class EventTests(unittest.TestCase):
    def setUp(self) -> None:
        self.stub = StubServer()
        self.addCleanup(self.stub.close)
        self.clock = Clock()

    def client(self) -> Client:
        c = Client(self.stub.url, "t", clock=self.clock, rng=lambda: 0.0, background=False)
        self.addCleanup(c.close)
        return c

    def read_after(self, c: Client, seconds: float) -> None:
        """Moves past max-age (or the backoff) and reads, then waits for the background revalidation to settle."""
        self.clock.advance(seconds)
        before = len(self.stub.threshold_requests())
        c.get_threshold(GATE, 0.5)
        self.assertTrue(wait_until(lambda: len(self.stub.threshold_requests()) > before and c._cache.entries[GATE.key()].inflight is None))

    def test_calibration_changes_failures_and_recovery(self) -> None:
        c = self.client()
        seen: List[ClientEvent] = []
        c.subscribe(seen.append)
        self.stub.handler = lambda *a: ok("cal_0000000000aa", 0.42)
        c.get_threshold(GATE, 0.5)
        self.read_after(c, 6)  # the same calibration again: nothing to tell
        self.stub.handler = lambda *a: error(500, "internal")
        self.read_after(c, 6)
        self.read_after(c, 2)  # a second failure in a row is not told again
        self.stub.handler = lambda *a: ok("cal_0000000000aa", 0.42)
        self.read_after(c, 3)
        self.stub.handler = lambda *a: ok("cal_0000000000bb", 0.3)
        self.read_after(c, 6)
        self.assertEqual(
            summary(seen),
            [
                ("calibration", "cal_0000000000aa", None, None),
                ("error", None, None, "server_error"),
                ("recovered", None, None, None),
                ("calibration", "cal_0000000000bb", "cal_0000000000aa", None),
            ],
        )
        self.assertEqual(seen[0].threshold, 0.42)
        self.assertEqual(seen[0].gate, GATE)
        self.assertEqual(seen[3].threshold, 0.3)

    def test_uncalibrated_once_with_the_servers_error_and_the_refused_token_once(self) -> None:
        c = self.client()
        seen: List[ClientEvent] = []
        c.subscribe(seen.append)
        self.stub.handler = lambda *a: error(404, "uncalibrated")
        c.get_threshold(GATE, 0.5)
        self.read_after(c, 6)
        self.stub.handler = lambda *a: error(401, "unauthorized")
        self.read_after(c, 6)
        self.clock.advance(6)
        c.get_threshold(GATE, 0.5)  # stopped: no request, no event
        self.assertEqual(summary(seen), [("uncalibrated", None, None, "uncalibrated"), ("error", None, None, "unauthorized")])
        self.assertEqual(seen[1].gate, GATE)

    def test_a_raising_listener_is_ignored_and_unsubscribe_stops_one(self) -> None:
        c = self.client()
        told: List[str] = []

        def broken(e: ClientEvent) -> None:
            raise RuntimeError("a listener's bug")

        c.subscribe(broken)
        stop = c.subscribe(lambda e: told.append(e.type))
        self.stub.handler = lambda *a: ok("cal_0000000000aa")
        r = c.get_threshold(GATE, 0.5)
        self.assertEqual((r.reason, told), ("calibrated", ["calibration"]))
        stop()
        stop()  # twice is harmless
        self.stub.handler = lambda *a: ok("cal_0000000000bb")
        self.read_after(c, 6)
        self.assertEqual(told, ["calibration"])
        self.assertEqual(c.get_threshold(GATE, 0.5).calibration_id, "cal_0000000000bb")

    def test_a_listener_may_read_the_cache(self) -> None:
        c = self.client()
        read: List[Any] = []
        c.subscribe(lambda e: read.append(c.get_threshold(GATE, 0.5).calibration_id))
        self.stub.handler = lambda *a: ok("cal_0000000000aa")
        c.get_threshold(GATE, 0.5)
        self.assertEqual(read, ["cal_0000000000aa"])

    def test_the_asyncio_client_tells_its_listeners(self) -> None:
        self.stub.handler = lambda *a: ok("cal_0000000000aa", 0.42)
        seen: List[ClientEvent] = []

        async def main() -> None:
            c = AsyncClient(self.stub.url, "t")
            c.subscribe(seen.append)
            try:
                await c.get_threshold(GATE, 0.5)
            finally:
                await c.close()

        asyncio.run(main())
        self.assertEqual(summary(seen), [("calibration", "cal_0000000000aa", None, None)])


if __name__ == "__main__":
    unittest.main()
