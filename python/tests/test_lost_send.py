"""An observation send older than the request timeout plus a second is given up, as the TypeScript client does
(packages/client/src/observations.ts, ``#running``): urllib's timeout bounds each socket operation, not a request (a
name lookup or a server that drips bytes can hold one far longer), and ``flush()`` or ``close()`` must not wait for it
forever. The next send goes ahead with the same batch id (the server counts a batch once) and the given-up send's answer,
whenever it comes, changes nothing. A send within its time is waited for, never doubled. The clock is injected and the
held request is released by the test: what is decided never depends on real time."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import unittest
import urllib.request
from typing import Any, List, Optional

from scoregate import AsyncClient, Client, FlushResult
from support import Clock, OpenerAnswer

#: Longest real wait of a test for something it expects at once.
WAIT_SECONDS = 5.0


class HeldOpener:
    """Accepts every POST (202); the first one is held until ``release`` is set."""

    def __init__(self) -> None:
        self.bodies: List[Any] = []
        self.reached = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, req: urllib.request.Request, timeout: float) -> OpenerAnswer:
        with self.lock:
            self.bodies.append(json.loads(req.data))
            first = len(self.bodies) == 1
        if first:
            self.reached.set()
            self.release.wait(WAIT_SECONDS)
        return OpenerAnswer(202, http.client.HTTPMessage(), b'{"accepted": true}')


class ClientLostSendTests(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.opener = HeldOpener()
        self.client = Client("http://scoregate.test", "t", opener=self.opener, clock=self.clock, rng=lambda: 0.0, background=False, timeout=2.0)
        self.client.report(5, 1, calibration_id="cal_0000000000aa")
        self.held: Optional[FlushResult] = None
        self.first = threading.Thread(target=self._first_flush, daemon=True)
        self.first.start()
        self.assertTrue(self.opener.reached.wait(WAIT_SECONDS))

    def _first_flush(self) -> None:
        self.held = self.client.flush()

    def tearDown(self) -> None:
        self.opener.release.set()
        self.first.join(WAIT_SECONDS)

    def test_a_send_past_its_timeout_and_a_second_is_given_up_and_the_batch_sent_again(self) -> None:
        self.clock.advance(3.5)  # timeout 2 s + 1 s, and more
        again = self.client.flush()
        self.assertEqual((again.sent_batches, again.failed_batches, again.stats.sent, again.stats.queued), (1, 0, 1, 0))
        first, second = self.opener.bodies
        self.assertEqual(first["batch_id"], second["batch_id"])
        self.opener.release.set()  # the given-up send's answer arrives now: it changes nothing
        self.first.join(WAIT_SECONDS)
        assert self.held is not None
        self.assertEqual((self.held.sent_batches, self.held.failed_batches), (0, 0))
        self.assertEqual((self.client.observation_stats().sent, self.client.observation_stats().queued), (1, 0))

    def test_a_send_within_its_time_is_waited_for_not_doubled(self) -> None:
        self.clock.advance(3.0)  # exactly timeout + 1 s: not lost yet
        second: List[FlushResult] = []
        waiting = threading.Thread(target=lambda: second.append(self.client.flush()), daemon=True)
        waiting.start()
        waiting.join(0.2)
        self.assertTrue(waiting.is_alive(), "flush() did not wait for the send under way")
        self.opener.release.set()
        waiting.join(WAIT_SECONDS)
        self.assertEqual((second[0].sent_batches, second[0].stats.sent), (0, 1))  # the first send took it
        self.assertEqual(len(self.opener.bodies), 1)

    def test_close_gives_up_a_lost_send(self) -> None:
        self.clock.advance(10)
        closed = self.client.close()
        self.assertEqual((closed.sent_batches, closed.stats.sent, closed.stats.queued), (1, 1, 0))


class AsyncLostSendTests(unittest.TestCase):
    def test_a_send_past_its_timeout_and_a_second_is_given_up_and_the_batch_sent_again(self) -> None:
        clock = Clock()
        opener = HeldOpener()
        c = AsyncClient("http://scoregate.test", "t", opener=opener, clock=clock, rng=lambda: 0.0, background=False, timeout=2.0)

        async def main() -> Any:
            c.report(5, 1, calibration_id="cal_0000000000aa")
            held = asyncio.get_running_loop().create_task(c.flush())
            reached = await asyncio.get_running_loop().run_in_executor(None, opener.reached.wait, WAIT_SECONDS)
            self.assertTrue(reached)
            clock.advance(3.5)
            again = await c.flush()
            opener.release.set()
            return again, await held

        try:
            again, held = asyncio.run(main())
        finally:
            opener.release.set()
        self.assertEqual((again.sent_batches, again.stats.sent, again.stats.queued), (1, 1, 0))
        self.assertEqual((held.sent_batches, held.failed_batches), (0, 0))
        self.assertEqual(opener.bodies[0]["batch_id"], opener.bodies[1]["batch_id"])
        self.assertEqual(c.observation_stats().sent, 1)
        asyncio.run(c.close())


if __name__ == "__main__":
    unittest.main()
