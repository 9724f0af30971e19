"""AsyncClient against a stub server: it never blocks the event loop, shares one request among concurrent callers,
and flushes on close. (The cache, reasons and batching rules it shares with Client are run for both clients by
test_conformance.py.)"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import unittest
from typing import Any, Coroutine, List

from scoregate import AsyncClient, Gate, ThresholdResult
from support import Clock, Reply, StubServer, error, ok

GATE = Gate("e5", "bge", index="docs")
logging.getLogger("scoregate").setLevel(logging.CRITICAL)


def run_without_suspending(coro: Coroutine[Any, Any, ThresholdResult]) -> ThresholdResult:
    """Steps a coroutine once: it must finish in that step, that is without ever giving control back to the loop
    (a call that awaited anything, the network included, would suspend here)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise AssertionError("the call suspended: it waited for something")


class HeldRequest:
    """A stub handler that holds each request until ``release()`` (at most ``hold`` seconds), and a task on the event
    loop that records when the stub has the request: it can only run if the request did not stop the loop."""

    def __init__(self, stub: StubServer, hold: float) -> None:
        self.released = threading.Event()
        self.seen_from_loop = False
        self._stub = stub
        self._task: "asyncio.Task[None] | None" = None

        def held(*args: Any) -> Reply:
            self.released.wait(hold)
            return ok()

        stub.handler = held

    async def _watch(self, release: bool) -> None:
        while not self._stub.threshold_requests():
            await asyncio.sleep(0.005)
        self.seen_from_loop = True
        if release:
            self.released.set()

    def watch(self, release: bool) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch(release))

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.released.set()


class AsyncTestCase(unittest.IsolatedAsyncioTestCase):
    def setUp(self) -> None:
        self.stub = StubServer()
        self.clock = Clock()
        self.clients: List[AsyncClient] = []

    async def asyncSetUp(self) -> None:
        # These tests run in asyncio's debug mode, which reports any step over 0.1 s of wall time; on a loaded 2-core
        # machine the stub server's threads alone cause that. Blocking is measured where it matters (LoopLag and
        # run_without_suspending above), so only a step that stalls the loop for a full second is reported here.
        asyncio.get_running_loop().slow_callback_duration = 1.0

    async def asyncTearDown(self) -> None:
        for c in self.clients:
            await c.close()

    def tearDown(self) -> None:
        self.stub.close()  # blocking (up to half a second): outside the loop

    def client(self, **kw: Any) -> AsyncClient:
        kw.setdefault("clock", self.clock)
        kw.setdefault("rng", lambda: 0.0)
        kw.setdefault("background", False)
        c = AsyncClient(kw.pop("base_url", self.stub.url), kw.pop("token", "t"), **kw)
        self.clients.append(c)
        return c


class AsyncThresholdTests(AsyncTestCase):
    async def test_first_answer_is_calibrated_then_cached_without_suspending(self) -> None:
        self.stub.handler = lambda *a: ok()
        c = self.client()
        first = await c.get_threshold(GATE, fallback=0.5)
        self.assertEqual((first.reason, first.threshold, first.calibration_id), ("calibrated", 0.42, "cal_0000000000aa"))
        second = run_without_suspending(c.get_threshold(GATE, fallback=0.5))
        self.assertEqual((second.reason, second.threshold), ("cached", 0.42))
        self.assertEqual(len(self.stub.threshold_requests()), 1)
        self.assertTrue(self.stub.threshold_requests()[0]["headers"]["User-Agent"].startswith("scoregate-python/"))

    async def test_a_slow_server_never_blocks_the_loop(self) -> None:
        # The stub holds the request for 5 s unless a task on the loop releases it once the request arrived: had the
        # request run on the loop, that task could not run and the client's 3 s timeout would answer the fallback.
        held = HeldRequest(self.stub, hold=5.0)
        self.addCleanup(held.close)
        c = self.client(timeout=3)
        held.watch(release=True)
        answer = await c.get_threshold(GATE, fallback=0.5)
        self.assertTrue(held.seen_from_loop)
        self.assertEqual((answer.reason, answer.threshold), ("calibrated", 0.42))

    async def test_a_server_slower_than_the_timeout_answers_the_fallback_without_stopping_the_loop(self) -> None:
        held = HeldRequest(self.stub, hold=5.0)
        self.addCleanup(held.close)
        c = self.client(timeout=0.3)
        held.watch(release=False)
        cold = await c.get_threshold(GATE, fallback=0.5)
        self.assertEqual((cold.reason, cold.threshold, cold.error.code), ("fallback", 0.5, "timeout"))
        # the loop ran while the request was in flight (a request on the loop would have stood it still until it ended)
        self.assertTrue(held.seen_from_loop)

    async def test_a_held_value_is_served_without_waiting_while_the_server_hangs(self) -> None:
        self.stub.handler = lambda *a: ok()
        c = self.client(timeout=3)
        await c.get_threshold(GATE, fallback=0.5)
        self.stub.delay = 2.0
        self.clock.advance(6)  # past max-age: a revalidation starts, and the caller does not wait for it
        stale = run_without_suspending(c.get_threshold(GATE, fallback=0.5))
        self.assertEqual((stale.reason, stale.threshold), ("stale", 0.42))
        await asyncio.sleep(0)  # let the revalidation task start its request
        self.assertEqual(run_without_suspending(c.get_threshold(GATE, fallback=0.5)).reason, "stale")

    async def test_concurrent_cold_callers_share_one_request(self) -> None:
        self.stub.handler = lambda *a: ok()
        self.stub.delay = 0.3
        c = self.client()
        results = await asyncio.gather(*(c.get_threshold(GATE, fallback=0.5) for _ in range(20)))
        self.assertEqual(len(self.stub.threshold_requests()), 1)
        self.assertEqual({r.reason for r in results}, {"calibrated"})

    async def test_a_cancelled_caller_leaves_the_shared_request_to_the_others(self) -> None:
        self.stub.handler = lambda *a: ok()
        self.stub.delay = 0.3
        c = self.client()
        first = asyncio.ensure_future(c.get_threshold(GATE, fallback=0.5))
        second = asyncio.ensure_future(c.get_threshold(GATE, fallback=0.5))
        await asyncio.sleep(0.05)
        first.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await first
        self.assertEqual((await second).reason, "calibrated")
        self.assertEqual(len(self.stub.threshold_requests()), 1)

    async def test_a_short_deadline_does_not_wait_for_the_shared_request(self) -> None:
        self.stub.handler = lambda *a: ok()
        self.stub.delay = 0.6
        c = self.client(timeout=3)
        slow = asyncio.ensure_future(c.get_threshold(GATE, fallback=0.5))
        await asyncio.sleep(0.02)
        impatient = await c.get_threshold(GATE, fallback=0.5, timeout=0.05)
        self.assertFalse(slow.done())
        self.assertEqual((impatient.reason, impatient.error.code), ("fallback", "timeout"))
        self.assertEqual((await slow).reason, "calibrated")
        self.assertEqual(len(self.stub.threshold_requests()), 1)

    async def test_never_raises_on_the_hot_path(self) -> None:
        def broken(*a: Any, **k: Any) -> Any:
            raise RuntimeError("a broken transport")

        c = self.client(opener=broken)
        self.assertEqual((await c.get_threshold(GATE, fallback=0.5)).error.code, "internal")
        r = await c.get_threshold(("e5",), fallback=0.5)  # not a gate (test_misuse has the rest)
        self.assertEqual((r.reason, r.threshold, r.error.code), ("fallback", 0.5, "bad_request"))

    async def test_a_refused_token_stops_requests(self) -> None:
        self.stub.handler = lambda *a: error(401, "unauthorized")
        c = self.client()
        self.assertEqual((await c.get_threshold(GATE, fallback=0.5)).error.code, "unauthorized")
        self.clock.advance(3600)
        self.assertEqual((await c.get_threshold(GATE, fallback=0.5)).error.code, "unauthorized")
        self.assertEqual(len(self.stub.threshold_requests()), 1)
        self.assertEqual(c.auth_error.code, "unauthorized")


class AsyncObservationTests(AsyncTestCase):
    async def test_gate_keeps_and_reports_and_close_flushes(self) -> None:
        self.stub.handler = lambda m, p, h, b: (202, {}, {"accepted": True}) if m == "POST" else ok()
        c = self.client()
        r = await c.gate([{"id": 1, "score": 0.9}, {"id": 2, "score": 0.1}, {"id": 3}], GATE, fallback=0.5, report_scores=True)
        self.assertEqual(([d["id"] for d in r.kept], [d["id"] for d in r.dropped], r.unscored), ([1, 3], [2], 1))
        c.report(10, 4, calibration_id="cal_0000000000aa")
        self.assertEqual(c.observation_stats().queued, 2)
        closed = await c.close()
        self.assertEqual((closed.sent_batches, closed.failed_batches, closed.stats.sent, closed.stats.queued), (1, 0, 2, 0))
        post = [q for q in self.stub.requests if q["method"] == "POST"][0]
        self.assertEqual(post["body"]["queries"], [[2, 1, 1, 0, 1], [10, 4]])
        self.assertEqual(post["body"]["scores"], [0.9, 0.1])
        c.report(1, 0, calibration_id="cal_0000000000aa")
        self.assertEqual(c.observation_stats().ignored, 1)
        # thresholds keep working after close
        self.assertEqual((await c.get_threshold(GATE, fallback=0.5)).reason, "cached")

    async def test_the_flush_task_sends_due_batches_and_full_ones_at_once(self) -> None:
        self.stub.handler = lambda *a: (202, {}, {"accepted": True})
        c = self.client(background=True, flush_interval=0.1, batch_size=2, clock=time.time)
        c.report(5, 1, calibration_id="cal_0000000000aa")
        c.report(5, 2, calibration_id="cal_0000000000aa")  # fills a batch of 2
        for _ in range(100):
            if c.observation_stats().sent == 2:
                break
            await asyncio.sleep(0.01)
        self.assertEqual(c.observation_stats().sent, 2)
        c.report(5, 3, calibration_id="cal_0000000000bb")  # not full: sent once flush_interval old
        for _ in range(300):
            if c.observation_stats().sent == 3:
                break
            await asyncio.sleep(0.01)
        self.assertEqual(c.observation_stats().sent, 3)

    async def test_async_with_closes(self) -> None:
        self.stub.handler = lambda *a: (202, {}, {"accepted": True})
        async with AsyncClient(self.stub.url, "t", background=False) as c:
            c.report(3, 1, calibration_id="cal_0000000000aa")
        self.assertEqual(c.observation_stats().sent, 1)


if __name__ == "__main__":
    unittest.main()
