"""What a read costs when the server hangs, and what a call's own ``timeout`` may be.

``Client`` runs each request in daemon threads of its own. Per gate there is one request at a time, and a request is
aborted at its deadline, but a name lookup (or an opener) that cannot be interrupted keeps its thread, and a service that
reads many gates while its scoregate hangs starts one request per gate: at most ``MAX_REQUEST_THREADS`` run at once,
and a read past that answers at once with error ``overloaded`` (nothing blocks, nothing raises, nothing backs off).

A call's ``timeout`` that is not a number of seconds (0 or more) is read as the client's, and logged once, as the
TypeScript client reads a bad per-call option (a fallback that is not a number, an unknown ``unscored``): never an
``internal`` error."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import math
import threading
import time
import unittest
import urllib.request
from typing import Any, List

from scoregate import MAX_REQUEST_THREADS, AsyncClient, Client, Gate
from support import OpenerAnswer, StubServer, ok, threshold_body

#: Longest real wait of a test for something it expects at once.
WAIT_SECONDS = 5.0
CAL = "cal_0000000000aa"
logging.getLogger("scoregate").setLevel(logging.CRITICAL)


def gate(i: int) -> Gate:
    return Gate("e5", f"bge-{i}", index="docs")


class HungOpener:
    """Holds every request until ``release`` is set (a name lookup that hangs: no abort reaches it), then answers 200."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def __call__(self, req: urllib.request.Request, timeout: float) -> OpenerAnswer:
        with self.lock:
            self.calls += 1
        self.release.wait(WAIT_SECONDS * 4)
        if req.get_method() == "POST":
            return OpenerAnswer(202, http.client.HTTPMessage(), b'{"accepted": true}')
        headers = http.client.HTTPMessage()
        headers["ETag"] = f'"{CAL}"'
        headers["Cache-Control"] = "max-age=5, stale-while-revalidate=60, stale-if-error=86400"
        return OpenerAnswer(200, headers, json.dumps(threshold_body(CAL, 0.42)).encode())


def request_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "scoregate-request")


def wait_until(condition: Any) -> bool:
    end = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class RequestBoundTests(unittest.TestCase):
    def setUp(self) -> None:
        self.opener = HungOpener()
        self.client = Client("http://scoregate.test", "t", opener=self.opener, timeout=0.2, max_gates=10_000, background=False)
        self.before = request_threads()

    def tearDown(self) -> None:
        self.opener.release.set()
        self.assertTrue(wait_until(lambda: self.client._slots.taken == 0))
        self.client.close()

    def test_reads_of_many_gates_while_requests_hang_start_at_most_max_request_threads(self) -> None:
        extra = 20
        codes: List[str] = []
        for i in range(MAX_REQUEST_THREADS + extra):
            started = time.monotonic()
            r = self.client.get_threshold(gate(i), 0.3, timeout=0)
            self.assertLess(time.monotonic() - started, 1.0)  # never waits for a slot
            self.assertEqual((r.reason, r.threshold), ("fallback", 0.3))
            codes.append(r.error.code if r.error else "")
        self.assertEqual(codes, ["timeout"] * MAX_REQUEST_THREADS + ["overloaded"] * extra)
        self.assertIn("MAX_REQUEST_THREADS", self.client.get_threshold(gate(MAX_REQUEST_THREADS), 0.3, timeout=0).error.message)  # type: ignore[union-attr]
        # past their deadline the stuck requests have failed, but their threads still hold their slots
        time.sleep(0.3)
        self.assertEqual(self.client.get_threshold(gate(10_000), 0.3, timeout=0).error.code, "overloaded")  # type: ignore[union-attr]
        self.assertEqual(self.opener.calls, MAX_REQUEST_THREADS)
        self.assertLessEqual(request_threads() - self.before, MAX_REQUEST_THREADS)
        # once the requests end, reads send again; a refused gate was not backed off: it is asked at once
        self.opener.release.set()
        self.assertTrue(wait_until(lambda: self.client._slots.taken == 0))
        r = self.client.get_threshold(gate(MAX_REQUEST_THREADS + 1), 0.3)
        self.assertEqual((r.reason, r.calibration_id, r.error), ("calibrated", CAL, None))

    def test_an_observation_batch_refused_a_slot_stays_queued_and_is_sent_later(self) -> None:
        for i in range(MAX_REQUEST_THREADS):
            self.client.get_threshold(gate(i), 0.3, timeout=0)
        self.client.report(5, 1, calibration_id=CAL)
        result = self.client.flush()
        self.assertEqual((result.sent_batches, result.failed_batches, result.stats.queued), (0, 1, 1))
        self.assertEqual(result.stats.last_error.code, "overloaded")  # type: ignore[union-attr]
        self.opener.release.set()
        self.assertTrue(wait_until(lambda: self.client._slots.taken == 0))
        result = self.client.flush()
        self.assertEqual((result.sent_batches, result.failed_batches, result.stats.queued), (1, 0, 0))


BAD_TIMEOUTS: List[Any] = ["1", float("nan"), -1, -0.5, True, False, [], 1e300, math.inf]


class CallTimeoutTests(unittest.TestCase):
    def setUp(self) -> None:
        self.stub = StubServer()
        self.stub.handler = lambda m, p, h, b: ok()
        self.stub.delay = 0.1  # a wait of 0 cannot see the answer

    def tearDown(self) -> None:
        self.stub.close()

    def test_a_call_timeout_that_is_not_seconds_waits_the_clients_timeout_and_is_logged_once(self) -> None:
        c = Client(self.stub.url, "t", timeout=2.0, background=False)
        try:
            with self.assertLogs("scoregate", logging.WARNING) as logs:
                for i, timeout in enumerate(BAD_TIMEOUTS):
                    with self.subTest(timeout=timeout):
                        r = c.get_threshold(gate(i), 0.3, timeout=timeout)
                        self.assertEqual((r.reason, r.calibration_id, r.error), ("calibrated", CAL, None))
            # one line per kind of mistake: each bad value is its own (1e300 and infinity are no mistake)
            self.assertEqual(len(logs.records), 7, logs.output)
            self.assertIn("timeout='1'", logs.output[0])
            r = c.get_threshold(gate(100), 0.3, timeout=0)  # 0: answers at once
            self.assertEqual((r.reason, r.threshold, r.error.code), ("fallback", 0.3, "timeout"))  # type: ignore[union-attr]
            g = c.gate([{"score": 0.9}], gate(101), fallback=0.3, timeout="2")  # type: ignore[arg-type]
            self.assertEqual((g.reason, g.error), ("calibrated", None))
        finally:
            c.close()

    def test_the_async_client_reads_the_same(self) -> None:
        async def main() -> None:
            async with AsyncClient(self.stub.url, "t", timeout=2.0, background=False) as c:
                for i, timeout in enumerate(BAD_TIMEOUTS):
                    with self.subTest(timeout=timeout):
                        r = await c.get_threshold(gate(i), 0.3, timeout=timeout)
                        self.assertEqual((r.reason, r.calibration_id, r.error), ("calibrated", CAL, None))
                r = await c.get_threshold(gate(100), 0.3, timeout=0)
                self.assertEqual((r.reason, r.threshold, r.error.code), ("fallback", 0.3, "timeout"))  # type: ignore[union-attr]

        asyncio.run(main())


if __name__ == "__main__":
    unittest.main()
