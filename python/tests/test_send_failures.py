"""Observation batches the server refuses (400, 409, 422) or that fail (5xx, the network) are logged on the
``scoregate`` logger, as threshold failures are: a refusal once per HTTP status and server error code, with the
server's message (a refused promotion claim says how to pass it), and a retriable failure once per run of failures;
both clients share the rule."""

from __future__ import annotations

import asyncio
import http.client
import io
import logging
import socket
import threading
import unittest
import urllib.error
import urllib.request
from typing import Any, List

from scoregate import AsyncClient, Client
from support import Clock, StubServer, error, ok

CAL = "cal_0000000000aa"
CANDIDATE = "cal_0000000000c2"
#: the server's words for a candidate arm's counts sent without their claim (src/monitoring/served-claim.ts)
UNCLAIMED = (
    f"calibration {CANDIDATE} was served only as the candidate of promotion prm_0000000001: its queries count as that "
    'promotion\'s candidate arm, so a batch of them says so with promotion {id, step, arm: "candidate"}; nothing was counted'
)
logging.getLogger("scoregate").setLevel(logging.CRITICAL)


def refusal(status: int, code: str, message: str) -> Any:
    return status, {}, {"error": {"code": code, "message": message}}


class SendFailureLogTests(unittest.TestCase):
    def setUp(self) -> None:
        self.stub = StubServer()
        self.addCleanup(self.stub.close)
        self.answer: Any = (202, {}, {"accepted": True})
        self.stub.handler = lambda m, p, h, b: self.answer if m == "POST" else ok()

    def client(self) -> Client:
        c = Client(self.stub.url, "t", background=False, rng=lambda: 0.0, backoff_initial=0.001, backoff_max=0.001)
        self.addCleanup(c.close)
        return c

    def test_a_refused_promotion_claim_is_logged_once_with_the_servers_message_and_how_to_pass_it(self) -> None:
        c = self.client()
        self.answer = refusal(422, "invalid_input", UNCLAIMED)
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            for _ in range(3):  # a service reporting by hand makes the same mistake on every batch
                c.report(5, 1, calibration_id=CANDIDATE)
                r = c.flush()
                self.assertEqual((r.sent_batches, r.failed_batches), (0, 1))
        self.assertEqual(c.observation_stats().rejected, 3)
        self.assertEqual(len(logs.records), 1, logs.output)
        line = logs.output[0]
        self.assertEqual(logs.records[0].levelno, logging.WARNING)
        for said in ("422 invalid_input", UNCLAIMED, f"calibration {CANDIDATE}", "promotion=t.promotion", "rejected"):
            self.assertIn(said, line)

    def test_a_missing_claim_is_said_after_an_unrelated_422_too(self) -> None:
        c = self.client()
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            for message in (f"calibration {CAL} was never served on its gate (never activated, never a promotion's candidate)", UNCLAIMED):
                self.answer = refusal(422, "invalid_input", message)
                c.report(5, 1, calibration_id=CANDIDATE)
                c.flush()
        self.assertEqual(len(logs.records), 2, logs.output)
        self.assertIn("promotion=t.promotion", logs.output[1])

    def test_a_refused_claim_field_says_so_too(self) -> None:
        c = self.client()
        details = [{"path": "promotion.step", "message": "must be a step index from 0 to 99 (got 120)"}]
        self.answer = (422, {}, {"error": {"code": "invalid_input", "message": "invalid observation batch", "details": details}})
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            c.report(5, 1, calibration_id=CANDIDATE, promotion={"id": "prm_0000000001", "step": 120, "arm": "candidate"})
            c.flush()
        self.assertEqual(len(logs.records), 1, logs.output)
        self.assertIn("invalid observation batch", logs.output[0])
        self.assertIn("candidate arm of prm_0000000001 step 120", logs.output[0])
        self.assertIn("promotion=t.promotion", logs.output[0])

    def test_each_status_and_server_code_is_said_once(self) -> None:
        c = self.client()
        answers = [
            refusal(409, "conflict", "calibration cal_0000000000s1 is no longer in shadow"),
            refusal(409, "conflict", "calibration cal_0000000000s2 is no longer in shadow"),
            # mentions promotions, but not the batch's claim
            refusal(422, "invalid_input", f"calibration {CAL} was never served on its gate (never activated, never a promotion's candidate)"),
            refusal(409, "batch_mismatch", "batch py-1 was sent before with another body"),
            (400, {}, None),  # no error envelope
            (400, {}, None),
        ]
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            for a in answers:
                self.answer = a
                c.report(3, 1, calibration_id=CAL, role="shadow")
                self.assertEqual(c.flush().failed_batches, 1)
        self.assertEqual(c.observation_stats().rejected, len(answers))
        self.assertEqual(len(logs.records), 4, logs.output)
        self.assertIn("409 conflict: calibration cal_0000000000s1 is no longer in shadow", logs.output[0])
        self.assertIn("(shadow)", logs.output[0])
        self.assertIn("422 invalid_input", logs.output[1])
        self.assertIn("409 batch_mismatch", logs.output[2])
        self.assertIn("400 refused", logs.output[3])
        self.assertTrue(all("promotion=" not in line for line in logs.output))  # only a claim's refusal says so

    def test_the_first_retriable_failure_in_a_row_is_logged_and_the_batch_kept(self) -> None:
        c = self.client()
        self.answer = error(503, "unavailable")
        with self.assertLogs("scoregate", logging.WARNING) as logs:
            c.report(5, 1, calibration_id=CAL)
            c.report(5, 1, calibration_id=CANDIDATE)
            for _ in range(3):
                self.assertEqual(c.flush().failed_batches, 2)
            self.answer = (202, {}, {"accepted": True})
            self.assertEqual(c.flush().sent_batches, 2)
            self.stub.close()  # the network fails now: a new run of failures
            c.report(5, 1, calibration_id=CAL)
            c.flush()
            c.flush()
        self.assertEqual(len(logs.records), 2, logs.output)
        self.assertIn("server_error", logs.output[0])
        self.assertIn("stub unavailable", logs.output[0])
        self.assertIn("retried", logs.output[0])
        self.assertIn("network", logs.output[1])
        stats = c.observation_stats()
        self.assertEqual((stats.sent, stats.rejected, stats.queued), (2, 0, 1))  # queries

    def test_the_async_client_logs_the_same(self) -> None:
        self.answer = refusal(422, "invalid_input", UNCLAIMED)

        async def main() -> List[str]:
            async with AsyncClient(self.stub.url, "t", background=False) as c:
                with self.assertLogs("scoregate", logging.WARNING) as logs:
                    for _ in range(2):
                        c.report(5, 1, calibration_id=CANDIDATE)
                        await c.flush()
                self.assertEqual(c.observation_stats().rejected, 2)
                return logs.output

        output = asyncio.run(main())
        self.assertEqual(len(output), 1, output)
        self.assertIn(UNCLAIMED, output[0])
        self.assertIn("promotion=t.promotion", output[0])


def close_failing(delay: float, failure: str) -> Any:
    """close() over three gates' batches whose POSTs each fail after ``delay`` s of the (fake) clock: a network error
    (a stale connection when fast, a proxy cutting a slow upstream when slow) or a 503 (a proxy waiting on its
    upstream). Returns the POSTs made, the failed batches and what stays queued."""
    clock = Clock()
    posts: List[float] = []

    def opener(req: urllib.request.Request, timeout: float) -> Any:
        if req.get_method() != "POST":
            raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
        posts.append(clock())
        clock.advance(delay)
        if failure == "network":
            raise urllib.error.URLError(ConnectionResetError(104, "Connection reset by peer"))
        h = http.client.HTTPMessage()
        h["Content-Type"] = "application/json"
        body = io.BytesIO(b'{"error": {"code": "unavailable", "message": "upstream timed out"}}')
        raise urllib.error.HTTPError(req.full_url, 503, "Service Unavailable", h, body)

    c = Client("http://scoregate.test", "t", timeout=1.0, background=False, clock=clock, opener=opener, rng=lambda: 0.0)
    for cal in ("cal_0000000001", "cal_0000000002", "cal_0000000003"):
        c.report(5, 1, calibration_id=cal)
    r = c.close()
    return len(posts), r.failed_batches, r.stats.queued


class FlushPastNetworkErrorsTests(unittest.TestCase):
    """close() goes on past one fast network error (a stale keep-alive connection at shutdown), not past a slow one
    (half the timeout or more: the next would take as long) nor a second in a row, as the TypeScript client does."""

    def test_a_fast_error_then_a_second_one_stops(self) -> None:
        self.assertEqual(close_failing(0.01, "network"), (2, 2, 3))

    def test_a_slow_error_stops_at_once(self) -> None:
        self.assertEqual(close_failing(0.6, "network"), (1, 1, 3))


class FlushPastServerErrorsTests(unittest.TestCase):
    """close() goes on past a fast 5xx (each gate's monitor is another object), not past one that took half the timeout
    or more (a proxy waiting on a slow upstream: the next would take as long), as the TypeScript client does."""

    def test_fast_server_errors_do_not_stop_it(self) -> None:
        self.assertEqual(close_failing(0.01, "503"), (3, 3, 3))

    def test_a_slow_server_error_stops_at_once(self) -> None:
        self.assertEqual(close_failing(0.6, "503"), (1, 1, 3))


class TimingOut:
    """An opener whose observation POSTs each hang until released, then time out after the request's timeout on the
    fake clock: a send on the wire when close() starts."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.posts = 0
        self.on_wire = threading.Event()
        self.release = threading.Event()

    def __call__(self, req: urllib.request.Request, timeout: float) -> Any:
        if req.get_method() != "POST":
            raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
        self.posts += 1
        self.on_wire.set()
        self.release.wait(5)
        self.clock.advance(timeout)
        raise urllib.error.URLError(socket.timeout("timed out"))


class CloseDuringASlowSendTests(unittest.TestCase):
    """close() while a send is on the wire waits for it; when it times out (or fails slowly), close() tries nothing
    more: sending the batches again would wait a second timeout (docs/clients.md: at most one and a half), as in the
    TypeScript client."""

    def test_the_client_waits_one_timeout_and_sends_nothing_more(self) -> None:
        clock = Clock()
        opener = TimingOut(clock)
        c = Client("http://scoregate.test", "t", timeout=1.0, background=False, clock=clock, opener=opener, rng=lambda: 0.0)
        c.report(5, 1, calibration_id="cal_0000000001")
        c.report(5, 1, calibration_id="cal_0000000002")
        sender = threading.Thread(target=c.flush)  # a send on the wire, as the flush thread's
        sender.start()
        self.assertTrue(opener.on_wire.wait(5))
        closed: List[Any] = []
        closer = threading.Thread(target=lambda: closed.append(c.close()))
        closer.start()
        opener.release.set()
        sender.join(5)
        closer.join(5)
        self.assertEqual(opener.posts, 1)
        self.assertEqual((closed[0].sent_batches, closed[0].failed_batches, closed[0].stats.queued), (0, 0, 2))

    def test_the_async_client_too(self) -> None:
        clock = Clock()
        opener = TimingOut(clock)

        async def main() -> Any:
            c = AsyncClient("http://scoregate.test", "t", timeout=1.0, background=False, clock=clock, opener=opener, rng=lambda: 0.0)
            c.report(5, 1, calibration_id="cal_0000000001")
            c.report(5, 1, calibration_id="cal_0000000002")
            sending = asyncio.ensure_future(c.flush())
            while not opener.on_wire.is_set():
                await asyncio.sleep(0.01)
            closing = asyncio.ensure_future(c.close())
            await asyncio.sleep(0.05)
            opener.release.set()
            await sending
            return await closing

        closed = asyncio.run(main())
        self.assertEqual(opener.posts, 1)
        self.assertEqual((closed.sent_batches, closed.failed_batches, closed.stats.queued), (0, 0, 2))



class ReportDuringCloseTests(unittest.TestCase):
    """A report made while close() flushes is ignored and counted, never left queued after close() returned (it was
    stranded: neither sent nor counted), as in the TypeScript client."""

    def test_the_client(self) -> None:
        clock = Clock()
        opener = TimingOut(clock)
        c = Client("http://scoregate.test", "t", timeout=1.0, background=False, clock=clock, opener=opener, rng=lambda: 0.0)
        c.report(5, 1, calibration_id="cal_0000000001")
        closed: List[Any] = []
        closer = threading.Thread(target=lambda: closed.append(c.close()))
        closer.start()
        self.assertTrue(opener.on_wire.wait(5))  # the close's flush is on the wire
        c.report(5, 2, calibration_id="cal_0000000001")
        opener.release.set()
        closer.join(5)
        self.assertEqual((closed[0].stats.queued, closed[0].stats.ignored), (1, 1))  # its own batch failed: still queued
        self.assertEqual(c.observation_stats().ignored, 1)

    def test_the_async_client(self) -> None:
        clock = Clock()
        opener = TimingOut(clock)

        async def main() -> Any:
            c = AsyncClient("http://scoregate.test", "t", timeout=1.0, background=False, clock=clock, opener=opener, rng=lambda: 0.0)
            c.report(5, 1, calibration_id="cal_0000000001")
            closing = asyncio.ensure_future(c.close())
            while not opener.on_wire.is_set():
                await asyncio.sleep(0.01)
            c.report(5, 2, calibration_id="cal_0000000001")
            opener.release.set()
            return await closing

        closed = asyncio.run(main())
        self.assertEqual((closed.stats.queued, closed.stats.ignored), (1, 1))


if __name__ == "__main__":
    unittest.main()
