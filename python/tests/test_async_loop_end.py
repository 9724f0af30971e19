"""AsyncClient when its event loop ends under a request: ``asyncio.run`` returns while a background revalidation or an
observation batch is on the wire. The loop cancels the task that awaited it: that is a cancellation, not a failure of
the server. No backoff, no ``error`` event, no error in the answers or the stats; the next loop asks again at once, and a
batch is sent again with its batch id. The requests are held by a gated opener (no sleeps, no real-time races)."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import unittest
import urllib.request
from typing import Any, List, Optional

from scoregate import AsyncClient, ClientEvent, Gate
from support import CACHE_CONTROL, Clock, OpenerAnswer, threshold_body

GATE = Gate("e5", "bge", index="docs")
#: Longest real wait of a test for a request to reach the opener (never reached when the client behaves).
WAIT_SECONDS = 5.0


class GatedOpener:
    """A urllib opener whose first ``held`` calls block until ``release`` is set; every call answers ``status``."""

    def __init__(self, held: int = 1) -> None:
        self.held = held
        self.calls: List[urllib.request.Request] = []
        self.reached = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, req: urllib.request.Request, timeout: float) -> OpenerAnswer:
        with self.lock:
            self.calls.append(req)
            hold = len(self.calls) <= self.held
        if hold:
            self.reached.set()
            self.release.wait(WAIT_SECONDS)
        headers = http.client.HTTPMessage()
        if req.get_method() == "POST":
            return OpenerAnswer(202, headers, b'{"accepted": true}')
        headers["ETag"] = '"cal_0000000000aa.1"'
        headers["Cache-Control"] = CACHE_CONTROL
        return OpenerAnswer(200, headers, json.dumps(threshold_body()).encode())

    def bodies(self) -> List[Any]:
        return [json.loads(r.data) for r in self.calls if r.data]


async def until_reached(opener: GatedOpener) -> None:
    """Waits (off the loop) until a request is held in the opener."""
    reached = await asyncio.get_running_loop().run_in_executor(None, opener.reached.wait, WAIT_SECONDS)
    assert reached, "no request reached the opener"


def snapshot(clock: Clock) -> Any:
    """A saved value for GATE: served as ``stale`` at once, and revalidated in the background."""
    entry = {"gate": {"index": "docs", "embedding": "e5", "reranker": "bge"}, "response": threshold_body(), "etag": '"cal_0000000000aa.1"', "fetched_at": clock() - 60}
    return {"version": 1, "saved_at": clock(), "entries": [entry]}


class LoopEndTests(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.events: List[ClientEvent] = []
        self.opener = GatedOpener()
        self.client: Optional[AsyncClient] = None

    def tearDown(self) -> None:
        self.opener.release.set()
        if self.client is not None:
            asyncio.run(self.client.close())

    def make(self, **kw: Any) -> AsyncClient:
        kw.setdefault("bootstrap", snapshot(self.clock))
        c = AsyncClient("http://scoregate.test", "t", opener=self.opener, clock=self.clock, rng=lambda: 0.0, background=False, **kw)
        c.subscribe(self.events.append)
        self.client = c
        return c

    def test_a_revalidation_cut_off_by_the_loop_is_no_failure_and_the_next_loop_asks_again(self) -> None:
        c = self.make()

        async def first_loop() -> None:
            stale = await c.get_threshold(GATE, fallback=0.5)
            self.assertEqual((stale.reason, stale.error), ("stale", None))
            await until_reached(self.opener)  # the revalidation is on the wire when the loop ends

        asyncio.run(first_loop())
        self.assertEqual([e.type for e in self.events], [])
        self.opener.release.set()  # the orphaned request ends; its answer has no loop to return to

        async def second_loop() -> Any:
            stale = await c.get_threshold(GATE, fallback=0.5)  # no backoff: a new revalidation starts at once
            # until its answer is taken: the request runs in an executor thread, which a loaded machine may start late
            # (a fixed number of loop turns was not always enough), so wait on the state, at most WAIT_SECONDS
            deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
            while not (len(self.opener.calls) == 2 and c._cache.entries[GATE.key()].inflight is None):
                if asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.001)
            return stale, await c.get_threshold(GATE, fallback=0.5)

        stale, fresh = asyncio.run(second_loop())
        self.assertEqual((stale.reason, stale.error), ("stale", None))
        self.assertEqual(len(self.opener.calls), 2)
        self.assertEqual((fresh.reason, fresh.error), ("cached", None))  # the server's answer, taken
        self.assertEqual([e.type for e in self.events], [])  # the same calibration as the snapshot's: nothing to announce

    def test_a_cold_read_cut_off_by_the_loop_leaves_no_error_for_the_next_loop(self) -> None:
        c = self.make(bootstrap=None)

        async def first_loop() -> None:
            asyncio.get_running_loop().create_task(c.get_threshold(GATE, fallback=0.5))
            await until_reached(self.opener)

        asyncio.run(first_loop())
        self.opener.release.set()
        # the next loop does not join the dead loop's request (its future can never be awaited there): it asks again
        cold = asyncio.run(c.get_threshold(GATE, fallback=0.5))
        self.assertEqual((cold.reason, cold.threshold, cold.error), ("calibrated", 0.42, None))
        self.assertEqual(len(self.opener.calls), 2)
        self.assertEqual([e.type for e in self.events], ["calibration"])

    def test_a_loop_closed_without_cancelling_its_tasks_leaves_a_request_the_next_loop_does_not_join(self) -> None:
        c = self.make(bootstrap=None)
        loop = asyncio.new_event_loop()
        # the refresh task is left pending when the loop closes; asyncio reports that when it is collected: expected here
        loop.set_exception_handler(lambda _loop, _context: None)

        async def first_loop() -> None:
            loop.create_task(c.get_threshold(GATE, fallback=0.5))
            await until_reached(self.opener)

        loop.run_until_complete(first_loop())
        loop.close()
        self.opener.release.set()
        # within the request's timeout + 1 s, but its future belongs to the closed loop: a new request is sent
        cold = asyncio.run(c.get_threshold(GATE, fallback=0.5))
        self.assertEqual((cold.reason, cold.threshold, cold.error), ("calibrated", 0.42, None))
        self.assertEqual(len(self.opener.calls), 2)

    def test_a_caller_waiting_for_a_request_whose_task_is_cancelled_gets_its_fallback_at_once(self) -> None:
        c = self.make(bootstrap=None)

        async def main() -> Any:
            waiting = asyncio.get_running_loop().create_task(c.get_threshold(GATE, fallback=0.5, timeout=WAIT_SECONDS))
            await until_reached(self.opener)
            for task in list(c._tasks):  # the shared request's task, cancelled from outside
                task.cancel()
            return await waiting

        r = asyncio.run(main())
        self.assertEqual((r.reason, r.threshold, r.error.code), ("fallback", 0.5, "aborted"))
        self.assertEqual(c._cache.entries[GATE.key()].failures, 0)
        self.assertEqual([e.type for e in self.events], [])

    def test_a_batch_cut_off_by_the_loop_is_no_failure_and_is_sent_again_with_its_batch_id(self) -> None:
        c = self.make(bootstrap=None)

        async def first_loop() -> None:
            c.report(5, 1, calibration_id="cal_0000000000aa")
            asyncio.get_running_loop().create_task(c.flush())
            await until_reached(self.opener)

        asyncio.run(first_loop())
        self.opener.release.set()
        stats = c.observation_stats()
        self.assertEqual((stats.queued, stats.sent, stats.last_error), (1, 0, None))
        self.assertLessEqual(c._queue.next_due_at(), self.clock())  # due at once: no backoff
        flushed = asyncio.run(c.flush())
        self.assertEqual((flushed.sent_batches, flushed.failed_batches, flushed.stats.sent, flushed.stats.queued), (1, 0, 1, 0))
        first, second = self.opener.bodies()
        self.assertEqual(first["batch_id"], second["batch_id"])
        self.assertEqual([e.type for e in self.events], [])

    def test_a_batch_cut_off_by_the_loop_is_no_longer_in_flight_for_the_memory_bound(self) -> None:
        c = self.make(bootstrap=None, max_queued=2)

        async def first_loop() -> None:
            c.report(5, 1, calibration_id="cal_0000000000aa")
            asyncio.get_running_loop().create_task(c.flush())
            await until_reached(self.opener)

        asyncio.run(first_loop())
        for _ in range(3):
            c.report(5, 2, calibration_id="cal_0000000000bb")
        # the cut-off batch is queued like any other (the oldest, so the first dropped): at most max_queued wait
        stats = c.observation_stats()
        self.assertEqual((stats.queued, stats.dropped_for_memory), (2, 2))


if __name__ == "__main__":
    unittest.main()
