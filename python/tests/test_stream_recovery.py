"""A stream that fell back to polling on failures comes back with the first poll the server answers (scoregate._stream,
``GateStream.polled``; the clients call it after each answered poll), not after ``recovery`` (300 s): a restart of the
server takes no client off the stream for minutes. A try that fails goes back to polling at once, and the wait before
the next doubles up to ``recovery``, so a stream that always fails while polls succeed (a proxy that cuts it) is not
reconnected on every poll; a 429 and its Retry-After are waited out, a 401 stops it. The times the tries are gated on
are the fake clock's; the stub server is real HTTP (test_stream.py's), and the waits it is given are short backoffs."""

from __future__ import annotations

import asyncio
import threading
import unittest
from typing import Any, List, Optional, Tuple

from scoregate import AsyncClient, Client, Gate
from scoregate._stream import POLL_ANSWERED, GateStream, StreamOptions
from support import Clock, wait_until
from test_stream import SseStub, event, frame, heartbeat, replay

GATE = Gate("e5", "bge", index="docs")


def failing_after_first(then: Any = None) -> Any:
    """An events route whose first connection sends seq 5 and is cut, whose next four are cut before any answer (five
    failures: the stream polls), and whose later ones run ``then(n, write, last)`` (None: cut too)."""

    def script(n: int, write: Any, last: Optional[str]) -> None:
        if n == 1:
            write.start()
            write(replay(last, 5) + heartbeat(5))
            write(b"")
        elif n <= 5 or then is None:
            write(b"")
        else:
            then(n, write, last)

    return script


class GateStreamRecoveryTest(unittest.TestCase):
    def _stream(self, script: Any, clock: Clock, **kw: Any) -> Tuple[GateStream, SseStub, List[Tuple[str, str]]]:
        stub = SseStub(script)
        self.addCleanup(stub.close)
        states: List[Tuple[str, str]] = []
        o = {"read_timeout": 5.0, "backoff_initial": 0.01, "backoff_max": 0.05, "recovery": 300.0, **kw}
        s = GateStream(
            f"{stub.url}/v1/events?index=docs&embedding=e5&reranker=bge",
            lambda: {"Authorization": "Bearer t"},
            StreamOptions(**o),
            on_event=lambda e, _snapshot: None,
            on_state=lambda st, r: states.append((st, r)),
            clock=clock,
            rng=lambda: 0.5,
        )
        s.start()
        self.addCleanup(s.close)
        self.assertTrue(wait_until(lambda: s.state == "polling"), states)
        self.assertEqual(len(stub.connections), 5)
        return s, stub, states

    def test_after_five_failures_the_first_answered_poll_reopens_the_stream(self) -> None:
        def back(n: int, write: Any, last: Optional[str]) -> None:
            write.start()
            write(replay(last, 6) + heartbeat(6))

        s, stub, states = self._stream(failing_after_first(back), Clock())
        self.assertTrue(s.polled())
        self.assertFalse(s.polled())  # one try
        self.assertTrue(wait_until(lambda: s.state == "open" and s.last == 6), states)
        self.assertEqual(stub.connections, [None, "5", "5", "5", "5", "5"])
        self.assertEqual([st for st, _ in states], ["open"] + ["reconnecting"] * 4 + ["polling", "reconnecting", "open"])
        self.assertEqual(states[6], ("reconnecting", POLL_ANSWERED))
        self.assertFalse(s.polled())  # open: nothing to do

    def test_a_stream_that_always_fails_is_tried_with_doubling_waits_up_to_one_per_recovery(self) -> None:
        clock = Clock()
        s, stub, states = self._stream(failing_after_first(), clock)
        waits = []
        for k in range(19):
            wait = 0.0 if k == 0 else min(300.0, 0.01 * 2 ** (k - 1))
            waits.append(wait)
            if wait > 0:
                clock.advance(wait - 0.001)
                self.assertFalse(s.polled(), f"try {k} before its wait of {wait} s")
                clock.advance(0.002)
            n = len(stub.connections)
            self.assertTrue(s.polled(), f"try {k} after its wait of {wait} s")
            # one connection, and straight back to polling (not max_failures more)
            self.assertTrue(wait_until(lambda: len(states) == 6 + 2 * (k + 1)), states[-3:])
            self.assertEqual(len(stub.connections), n + 1)
            self.assertEqual(states[-2:], [("reconnecting", POLL_ANSWERED), ("polling", states[-1][1])])
        # the waits reached recovery (300 s) and stayed there: one try per recovery, however often polls are answered
        self.assertEqual(waits[-3:], [300.0, 300.0, 300.0])
        self.assertEqual(len(stub.connections), 5 + 19)

    def test_a_try_refused_with_429_waits_out_its_retry_after_and_a_503_its_own(self) -> None:
        def limited(n: int, write: Any, last: Optional[str]) -> None:
            write.start(429, None, {"Retry-After": "480"})

        clock = Clock()
        s, stub, states = self._stream(failing_after_first(limited), clock)
        self.assertTrue(s.polled())
        self.assertTrue(wait_until(lambda: states[-1][1] == "429: polling instead"), states[-3:])
        # a 429 is the server's word: answered polls bring no try; the stream waits max(recovery, Retry-After)
        for _ in range(5):
            clock.advance(200.0)
            self.assertFalse(s.polled())
        self.assertEqual(len(stub.connections), 6)

        def unavailable(n: int, write: Any, last: Optional[str]) -> None:
            if n == 6:
                write.start(503, None, {"Retry-After": "120"})
            else:
                write.start()
                write(replay(last, 6) + heartbeat(6))

        s, stub, states = self._stream(failing_after_first(unavailable), clock)
        self.assertTrue(s.polled())
        self.assertTrue(wait_until(lambda: len(states) == 8), states[-3:])
        self.assertEqual(states[-1], ("polling", "503"))
        clock.advance(119.0)
        self.assertFalse(s.polled())  # a try from polling that failed would wait 0.01 s; its Retry-After says 120
        clock.advance(1.5)
        self.assertTrue(s.polled())
        self.assertTrue(wait_until(lambda: s.state == "open" and s.last == 6), states[-3:])

    def test_a_try_that_opens_is_one_attempt_until_it_has_stayed_up_reset_after(self) -> None:
        cuts: List[Any] = []

        def back(n: int, write: Any, last: Optional[str]) -> None:
            write.start()
            write(replay(last, 5) + heartbeat(5))
            cuts.append(write)

        clock = Clock()
        s, stub, states = self._stream(failing_after_first(back), clock)
        self.assertTrue(s.polled())
        self.assertTrue(wait_until(lambda: s.state == "open" and len(cuts) == 1), states[-3:])
        # cut 10 s after it opened: back to polling at once, the next try a doubled wait (0.01 s) after it
        clock.advance(10.0)
        cuts[0](b"")
        self.assertTrue(wait_until(lambda: len(states) == 9), states[-3:])
        self.assertEqual(states[-1][0], "polling")
        self.assertFalse(s.polled())
        clock.advance(0.011)
        self.assertTrue(s.polled())
        self.assertTrue(wait_until(lambda: s.state == "open" and len(cuts) == 2), states[-3:])
        # up 60 s: the trial is over; a cut now reconnects as any healthy stream's (max_failures counts again)
        clock.advance(60.0)
        cuts[1](b"")
        self.assertTrue(wait_until(lambda: len(states) == 13 and s.state == "open"), states[-4:])
        self.assertEqual([st for st, _ in states[6:]], ["reconnecting", "open", "polling", "reconnecting", "open", "reconnecting", "open"])
        self.assertEqual(len(stub.connections), 8)

    def test_a_try_that_stayed_up_reset_after_then_met_a_history_restart_is_over_as_in_typescript(self) -> None:
        go = threading.Event()

        def back(n: int, write: Any, last: Optional[str]) -> None:
            if n == 6:  # the try from polling: opens, stays up, then the server's history restarts (head 2 < 6)
                write.start()
                write(replay(last, 6) + heartbeat(6))
                go.wait(5)
                write(heartbeat(2))
                write(b"")
            elif n == 7:  # the new history's snapshot, then cut at once
                write.start()
                write(frame(event(2, 0), "snapshot") + heartbeat(2))
                write(b"")
            else:
                write.start()
                write(heartbeat(2))
                go.wait(5)

        clock = Clock()
        s, stub, states = self._stream(failing_after_first(back), clock)
        self.assertTrue(s.polled())
        self.assertTrue(wait_until(lambda: s.state == "open" and s.last == 6), states[-3:])
        clock.advance(61.0)  # the try has stayed up past reset_after (60 s): it is over, before the restart ends it
        go.set()
        # the cut after the snapshot is an ordinary failure of a healthy stream: it reconnects (an 8th connection),
        # where a try still under way would have gone back to polling
        self.assertTrue(wait_until(lambda: len(stub.connections) >= 8), states[-4:])
        self.assertNotIn("polling", [st for st, _ in states[7:]])

    def test_a_try_refused_with_401_stops_the_stream(self) -> None:
        clock = Clock()
        s, stub, states = self._stream(failing_after_first(lambda n, write, last: write.start(401)), clock)
        self.assertTrue(s.polled())
        self.assertTrue(wait_until(lambda: s.state == "stopped"), states[-3:])
        clock.advance(1000.0)
        self.assertFalse(s.polled())
        self.assertEqual(len(stub.connections), 6)


class ClientRecoveryTest(unittest.TestCase):
    """The clients after a 16 s restart: both routes cut, five failed reconnects, polling; the server answers a poll
    again and the stream reopens (it would have stayed polling for ``recovery``, 300 s)."""

    def _stub(self) -> Tuple[SseStub, threading.Event, List[bool]]:
        outage = threading.Event()
        down = [False]

        def script(n: int, write: Any, last: Optional[str]) -> None:
            if down[0]:
                write(b"")
                return
            write.start()
            write(replay(last, 5 if n == 1 else 6) + heartbeat(5 if n == 1 else 6))
            if n == 1:
                outage.wait(5)
                write(b"")

        stub = SseStub(script)
        self.addCleanup(stub.close)
        return stub, outage, down

    OPTIONS = {"read_timeout": 5.0, "backoff_initial": 0.01, "backoff_max": 0.05, "recovery": 300.0}

    def test_sync_client(self) -> None:
        stub, outage, down = self._stub()
        clock = Clock()
        client = Client(stub.url, "t", stream=self.OPTIONS, clock=clock, background=False)
        self.addCleanup(client.close)
        client.get_threshold(GATE, 0.1)
        stream = client._streams[GATE.key()]
        self.assertTrue(wait_until(lambda: stream.last == 5))
        down[0] = stub.threshold_down = True
        outage.set()
        self.assertTrue(wait_until(lambda: stream.state == "polling"))
        # while the server is down, the polls fail too: no try
        clock.advance(2.0)
        with self.assertLogs("scoregate", "WARNING"):
            client.get_threshold(GATE, 0.1)
            self.assertTrue(wait_until(lambda: client._cache.entries[GATE.key()].last_error is not None))
        self.assertEqual(stream.state, "polling")
        # the server is back: the next poll is answered, and the stream reopens and resumes after seq 5
        down[0] = stub.threshold_down = False
        clock.advance(5.0)
        client.get_threshold(GATE, 0.1)
        self.assertTrue(wait_until(lambda: stream.state == "open" and stream.last == 6))
        self.assertEqual(stub.connections, [None, "5", "5", "5", "5", "5"])
        self.assertEqual(stub.threshold_gets, 2)

    def test_async_client(self) -> None:
        stub, outage, down = self._stub()
        clock = Clock()
        seen: List[Any] = []

        async def until(cond: Any) -> bool:
            for _ in range(300):
                if cond():
                    return True
                await asyncio.sleep(0.01)
            return cond()

        async def main() -> None:
            client = AsyncClient(stub.url, "t", stream=self.OPTIONS, clock=clock)
            try:
                await client.get_threshold(GATE, 0.1)
                stream = client._streams[GATE.key()]
                self.assertTrue(await until(lambda: stream.last == 5))
                down[0] = stub.threshold_down = True
                outage.set()
                self.assertTrue(await until(lambda: stream.state == "polling"))
                down[0] = stub.threshold_down = False
                clock.advance(5.0)
                await client.get_threshold(GATE, 0.1)
                self.assertTrue(await until(lambda: stream.state == "open" and stream.last == 6))
                seen.extend(stub.connections)
            finally:
                await client.close()

        asyncio.run(main())
        self.assertEqual(seen, [None, "5", "5", "5", "5", "5"])


if __name__ == "__main__":
    unittest.main()
