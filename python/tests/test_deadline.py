"""The total deadline of a request, for both clients: ``timeout`` bounds connect, headers and body together, as the
TypeScript client's ``timeoutMs`` does, so a server that drips its answer (each byte well within urllib's per-operation
timeout) cannot hold a caller, a revalidation or an observation batch past it. A raw local server sends the answer a
few bytes at a time; the timeouts are small so the suite stays fast.

Nothing here asserts on elapsed time: a call that returned at its deadline is one that returned a ``timeout`` before
the dripping answer was sent in full (it takes DRIP_SECONDS, far beyond the deadline); a request that ended at its
deadline is one whose connection the server saw hung up (a request that did not would read the whole drip); a caller
that did not wait for it is one answered from the backoff with the request's own error, asked with ``timeout=0`` (a
caller that joined a request still running would give up at once with an error of its own). The clients take a fake
``clock`` there, so the backoff that follows the failure lasts whatever the machine's speed."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import socketserver
import threading
import time
import unittest
from typing import Any, Dict, List, Optional

from scoregate import AsyncClient, Client, Gate
from support import CACHE_CONTROL, Clock, threshold_body, wait_until

GATE = Gate("e5", "bge", index="docs")
CAL = "cal_0000000000aa"
logging.getLogger("scoregate").setLevel(logging.CRITICAL)

#: The clients' total deadline in these tests (seconds)
TIMEOUT = 0.3
#: How long a dripping answer would take in all: far beyond TIMEOUT, far within urllib's per-operation timeout per byte
DRIP_SECONDS = 20.0
#: The error of the request itself at its deadline (a caller that gave up waiting after ``timeout=0`` says 0 s)
REQUEST_TIMED_OUT = f"no answer within {TIMEOUT} s"


class DripServer:
    """Answers each request with ``reply`` (status, headers, body bytes), sending it ``drip`` bytes at a time every
    ``interval`` seconds from ``drip_from`` on ("headers": the status line too; "body": after the headers, sent at
    once). Records each request, and how each answer ended (sent in full, or the client hung up, and then whether in
    the status line and headers or in the body)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.mode: Optional[str] = None  # None: no drip
        self.interval = 0.05
        #: how long the drip takes in all
        self.total = DRIP_SECONDS
        self.reply = (200, {"ETag": f'"{CAL}.3"', "Cache-Control": CACHE_CONTROL}, json.dumps(threshold_body()).encode())
        self.requests: List[Dict[str, Any]] = []
        self.ended: List[Dict[str, Any]] = []
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                line = self.rfile.readline().decode()
                headers: Dict[str, str] = {}
                while True:
                    h = self.rfile.readline().decode()
                    if h in ("\r\n", "\n", ""):
                        break
                    k, _, v = h.partition(":")
                    headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(n)) if n else None
                server.requests.append({"line": line.strip(), "headers": headers, "body": body})
                server.send(self.connection)

        self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.tcp.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.tcp.server_address[1]}"
        threading.Thread(target=self.tcp.serve_forever, daemon=True).start()

    def send(self, conn: socket.socket) -> None:
        status, headers, body = self.reply
        head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        data = head.encode() + body
        if self.mode == "truncate":
            # the headers and half the announced body, then the connection closes: a server or proxy that died mid-answer
            conn.sendall(data[: len(head.encode()) + len(body) // 2])
            self.ended.append({"outcome": "truncated", "in": None})
            return
        start = 0 if self.mode == "headers" else len(head.encode()) if self.mode == "body" else len(data)
        i = start
        try:
            conn.sendall(data[:start])
            # a seeded number of bytes per drip, each sent well within urllib's per-operation timeout
            step = max(1, (len(data) - start) * self.interval // self.total)
            while i < len(data):
                time.sleep(self.interval)
                n = int(step) + self.rng.randrange(2)
                conn.sendall(data[i : i + n])
                i += n
            outcome, part = "sent", None
        except OSError:
            # found out at the next write or two: a few bytes at most past the point where the client hung up
            outcome, part = "hung up", "headers" if i < len(head.encode()) else "body"
        self.ended.append({"outcome": outcome, "in": part})

    def close(self) -> None:
        self.tcp.shutdown()
        self.tcp.server_close()


class DeadlineCase(unittest.TestCase):
    def setUp(self) -> None:
        self.server = DripServer(seed=20261205)

    def tearDown(self) -> None:
        self.server.close()

    def assert_hung_up(self) -> None:
        """The client stopped reading by itself: the server saw it hang up in the part that drips (a request thread
        that waited for dripping headers to end would hang up in the body, if at all), so its worker thread does not
        linger for the whole drip (a dripping server cannot pile up threads)."""
        self.assertTrue(wait_until(lambda: bool(self.server.ended), timeout=DRIP_SECONDS + 5))
        self.assertEqual([(e["outcome"], e["in"]) for e in self.server.ended], [("hung up", self.server.mode)])

    def assert_not_sent_in_full(self) -> None:
        """The call has returned before the dripping answer was sent in full: it did not wait for it."""
        self.assertNotIn("sent", [e["outcome"] for e in self.server.ended])


class SyncDeadlineTests(DeadlineCase):
    def client(self, **kw: Any) -> Client:
        c = Client(self.server.url, "t", timeout=TIMEOUT, rng=lambda: 0.0, background=False, **kw)
        self.addCleanup(c.close)
        return c

    def errors_of(self, c: Client) -> List[Any]:
        errors: List[Any] = []
        c.subscribe(lambda e: errors.append(e.error.code) if e.type == "error" and e.error is not None else None)
        return errors

    def test_a_dripping_body_times_out_at_the_deadline_and_backs_off(self) -> None:
        self.server.mode = "body"
        c = self.client(clock=Clock())  # fake: the backoff after the failure lasts until the test moves it (never)
        errors = self.errors_of(c)
        r = c.get_threshold(GATE, 0.5)
        self.assertEqual((r.reason, r.threshold, r.error.code), ("fallback", 0.5, "timeout"))
        self.assert_not_sent_in_full()
        # the request failed (as in TypeScript): the entry backs off, so the next caller gets its fallback at once,
        # with the request's error, neither waiting (timeout=0 would say 0 s) nor sending another request
        self.assertTrue(wait_until(lambda: errors == ["timeout"]))
        r = c.get_threshold(GATE, 0.5, timeout=0)
        self.assertEqual((r.reason, r.error.code, r.error.message), ("fallback", "timeout", REQUEST_TIMED_OUT))
        self.assertEqual((len(self.server.requests), errors), (1, ["timeout"]))
        self.assert_hung_up()

    def test_dripping_headers_time_out_at_the_deadline_too(self) -> None:
        # urllib's timeout bounds each socket read: a status line and headers that trickle in never trip it
        self.server.mode = "headers"
        c = self.client(clock=Clock())  # fake: the backoff after the failure lasts until the test moves it (never)
        errors = self.errors_of(c)
        r = c.get_threshold(GATE, 0.5)
        self.assertEqual((r.reason, r.error.code), ("fallback", "timeout"))
        self.assert_not_sent_in_full()
        # the request itself ended at the deadline, a failure: the next caller does not wait for it, nor send another
        self.assertTrue(wait_until(lambda: errors == ["timeout"]))
        r = c.get_threshold(GATE, 0.5, timeout=0)
        self.assertEqual((r.reason, r.error.code, r.error.message), ("fallback", "timeout", REQUEST_TIMED_OUT))
        self.assertEqual(len(self.server.requests), 1)
        self.assert_hung_up()  # the request was aborted: its thread does not wait for the headers to end

    def test_a_body_cut_short_is_a_network_failure_not_an_answer(self) -> None:
        # the connection closes before the Content-Length it announced: not a bad answer of the server, a lost one
        self.server.mode = "truncate"
        c = self.client()
        r = c.get_threshold(GATE, 0.5)
        self.assertEqual((r.reason, r.threshold, r.error.code), ("fallback", 0.5, "network"))
        self.assertIn("IncompleteRead", r.error.message)
        c.report(5, 1, calibration_id=CAL)
        result = c.flush()
        self.assertEqual((result.sent_batches, result.failed_batches, result.stats.queued), (0, 1, 1))
        self.assertEqual(result.stats.last_error.code, "network")

    def test_a_slow_but_timely_body_larger_than_a_read_is_taken_whole(self) -> None:
        body = {**threshold_body(), "padding": "x" * 100_000}  # several reads of READ_CHUNK_BYTES
        self.server.reply = (200, {"ETag": f'"{CAL}.3"', "Cache-Control": CACHE_CONTROL}, json.dumps(body).encode())
        self.server.mode, self.server.interval, self.server.total = "body", 0.01, 0.3
        c = Client(self.server.url, "t", timeout=DRIP_SECONDS, background=False)  # the drip ends well in time
        self.addCleanup(c.close)
        r = c.get_threshold(GATE, 0.5)
        self.assertEqual((r.reason, r.threshold, r.calibration_id, r.error), ("calibrated", 0.42, CAL, None))
        self.assertEqual(self.server.ended[0]["outcome"], "sent")

    def test_an_observation_batch_that_drips_times_out_stays_queued_and_keeps_its_batch_id(self) -> None:
        self.server.mode = "body"
        self.server.reply = (202, {}, b'{"accepted": true}')
        c = self.client()
        c.report(5, 1, calibration_id=CAL)
        result = c.flush()
        self.assert_not_sent_in_full()
        self.assertEqual((result.sent_batches, result.failed_batches), (0, 1))
        self.assertEqual((result.stats.queued, result.stats.last_error.code), (1, "timeout"))
        self.server.mode = None
        result = c.flush()
        self.assertEqual((result.sent_batches, result.stats.queued, result.stats.sent), (1, 0, 1))
        ids = [q["body"]["batch_id"] for q in self.server.requests]
        self.assertEqual((len(ids), len(set(ids))), (2, 1))


class AsyncDeadlineTests(DeadlineCase):
    def run_async(self, main: Any, **kw: Any) -> Any:
        async def wrapped() -> Any:
            c = AsyncClient(self.server.url, "t", timeout=TIMEOUT, rng=lambda: 0.0, background=False, **kw)
            try:
                return await main(c)
            finally:
                await c.close()

        return asyncio.run(wrapped())

    async def errors_of(self, c: AsyncClient) -> List[Any]:
        errors: List[Any] = []
        c.subscribe(lambda e: errors.append(e.error.code) if e.type == "error" and e.error is not None else None)
        return errors

    async def until(self, cond: Any) -> None:
        """Lets the loop run until ``cond`` holds (at most a few seconds: then the test fails)."""
        for _ in range(500):
            if cond():
                return
            await asyncio.sleep(0.01)
        self.fail("the condition never held")

    def test_a_dripping_body_times_out_at_the_deadline(self) -> None:
        self.server.mode = "body"

        async def main(c: AsyncClient) -> None:
            errors = await self.errors_of(c)
            call = asyncio.ensure_future(c.get_threshold(GATE, 0.5))
            # the loop keeps running while the request drips: this coroutine sees the server get it, the call still out
            seen_while_out = False
            while not call.done():
                seen_while_out = seen_while_out or bool(self.server.requests)
                await asyncio.sleep(0.01)
            r = call.result()
            self.assertEqual((r.reason, r.threshold, r.error.code), ("fallback", 0.5, "timeout"))
            self.assertTrue(seen_while_out)
            self.assert_not_sent_in_full()
            # backing off: answered with the request's error, neither waiting (timeout=0 would say 0 s) nor sending
            await self.until(lambda: errors == ["timeout"])
            r = await c.get_threshold(GATE, 0.5, timeout=0)
            self.assertEqual((r.error.code, r.error.message, len(self.server.requests)), ("timeout", REQUEST_TIMED_OUT, 1))

        self.run_async(main, clock=Clock())  # fake: the backoff after the failure lasts until the test moves it (never)
        self.assert_hung_up()

    def test_dripping_headers_time_out_at_the_deadline_too(self) -> None:
        self.server.mode = "headers"

        async def main(c: AsyncClient) -> None:
            errors = await self.errors_of(c)
            r = await c.get_threshold(GATE, 0.5)
            self.assertEqual((r.reason, r.error.code), ("fallback", "timeout"))
            self.assert_not_sent_in_full()
            # the request failed at the deadline: backing off, answered with its error, no wait (timeout=0 would say
            # 0 s) and no second request
            await self.until(lambda: errors == ["timeout"])
            r = await c.get_threshold(GATE, 0.5, timeout=0)
            self.assertEqual((r.error.code, r.error.message, len(self.server.requests)), ("timeout", REQUEST_TIMED_OUT, 1))

        self.run_async(main, clock=Clock())  # fake: the backoff after the failure lasts until the test moves it (never)
        self.assert_hung_up()  # the worker thread is free again: the request was aborted at the deadline

    def test_an_observation_batch_that_drips_times_out_and_stays_queued(self) -> None:
        self.server.mode = "body"
        self.server.reply = (202, {}, b'{"accepted": true}')

        async def main(c: AsyncClient) -> None:
            c.report(5, 1, calibration_id=CAL)
            result = await c.flush()
            self.assert_not_sent_in_full()
            self.assertEqual((result.failed_batches, result.stats.queued, result.stats.last_error.code), (1, 1, "timeout"))
            self.server.mode = None
            result = await c.flush()
            self.assertEqual((result.sent_batches, result.stats.queued), (1, 0))
            ids = [q["body"]["batch_id"] for q in self.server.requests]
            self.assertEqual((len(ids), len(set(ids))), (2, 1))

        self.run_async(main)


if __name__ == "__main__":
    unittest.main()
