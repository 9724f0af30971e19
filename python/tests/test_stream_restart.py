"""Pushed changes after the server's state is reset (seq goes back): a deleted local state, or a database restored to an
earlier minute, numbers its events from a lower seq than a running client has applied. The stream (scoregate._stream)
takes the new history's state instead of dropping it as already seen, and the clients serve it, not the calibration
that no longer exists. Against the local stub of GET /v1/events of test_stream.py."""

from __future__ import annotations

import asyncio
import unittest
from typing import Any, Dict, List, Optional, Tuple

from scoregate import AsyncClient, Client, Gate
from scoregate._stream import HISTORY_RESTARTED, GateStream, StreamOptions
from support import threshold_body, wait_until
from test_stream import SseStub, event, frame, heartbeat

GATE = Gate("e5", "bge", index="docs")


class GateStreamRestartTest(unittest.TestCase):
    """GateStream after the server's state is reset (seq goes back)."""

    def _stream(self, stub: SseStub, **kw: Any) -> Any:
        seqs: List[int] = []
        states: List[Tuple[str, str]] = []
        restarts: List[Tuple[int, int]] = []
        s = GateStream(
            f"{stub.url}/v1/events?embedding=e5&reranker=bge",
            lambda: {"Authorization": "Bearer t"},
            StreamOptions(**{"read_timeout": 2.0, "backoff_initial": 0.01, "backoff_max": 0.05, "recovery": 0.05, **kw}),
            on_event=lambda e, _snapshot: seqs.append(e["seq"]),
            on_restart=lambda last, head: restarts.append((last, head)),
            on_state=lambda st, r: states.append((st, r)),
            clock=lambda: 0.0,
            rng=lambda: 0.5,
        )
        s.start()
        self.addCleanup(s.close)
        return s, seqs, states, restarts

    def test_after_the_servers_state_is_reset_a_snapshot_below_the_last_seq_is_applied_and_followed(self) -> None:
        def script(n: int, write: Any, last: Optional[str]) -> None:
            write.start()
            if n == 1:
                write(frame(event(20, 0), "snapshot") + frame(event(26, 20)))
                write(b"")
            else:
                write(frame(event(7, 6), "snapshot") + heartbeat(7) + frame(event(8, 7)))

        stub = SseStub(script)
        self.addCleanup(stub.close)
        s, seqs, _, restarts = self._stream(stub)
        self.assertTrue(wait_until(lambda: seqs == [20, 26, 7, 8]), seqs)
        self.assertEqual(restarts, [(26, 7)])
        self.assertEqual(s.last, 8)
        self.assertEqual(stub.connections, [None, "26"])

    def test_after_the_servers_state_is_reset_a_heartbeat_below_the_last_seq_reconnects_without_a_position(self) -> None:
        def script(n: int, write: Any, last: Optional[str]) -> None:
            write.start()
            if n == 1:
                write(frame(event(26, 0), "snapshot"))
                write(b"")
            elif n == 2:
                write(heartbeat(3))  # a server that answers the resume with its head only
            else:
                write(frame(event(3, 2), "snapshot") + heartbeat(3))

        stub = SseStub(script)
        self.addCleanup(stub.close)
        # two failures would switch it to polling: the restart must not count as one
        s, seqs, states, restarts = self._stream(stub, max_failures=2)
        self.assertTrue(wait_until(lambda: seqs == [26, 3] and len(states) >= 5), (seqs, states))
        self.assertEqual(restarts, [(26, 3)])
        self.assertEqual(stub.connections, [None, "26", None])
        self.assertEqual([st for st, _ in states], ["open", "reconnecting", "open", "reconnecting", "open"])
        self.assertEqual(states[3][1], f"{HISTORY_RESTARTED}: the gate is at 3, this stream was at 26")
        self.assertEqual(s.last, 3)

    def test_an_old_event_replayed_below_the_last_seq_is_still_a_duplicate(self) -> None:
        heads: List[int] = []

        def script(n: int, write: Any, last: Optional[str]) -> None:
            write.start()
            write(frame(event(5, 0), "snapshot") + frame(event(7, 5)) + frame(event(7, 5)) + frame(event(5, 0)) + heartbeat(7))

        stub = SseStub(script)
        self.addCleanup(stub.close)
        s = GateStream(
            f"{stub.url}/v1/events?embedding=e5&reranker=bge",
            lambda: {},
            StreamOptions(read_timeout=2.0),
            on_event=lambda e, _snapshot: heads.append(-e["seq"]),
            on_heartbeat=heads.append,
            clock=lambda: 0.0,
            rng=lambda: 0.5,
        )
        s.start()
        self.addCleanup(s.close)
        self.assertTrue(wait_until(lambda: heads == [-5, -7, 7]), heads)


def _reset_stub() -> Tuple[SseStub, List[Any]]:
    """Connection 1: the old history (newest 26, cal_old); any later one: the new history (newest 7, cal_new). The
    second value holds each connection's writer (``write(b"")`` cuts it)."""
    writers: List[Any] = []

    def script(n: int, write: Any, last: Optional[str]) -> None:
        write.start()
        writers.append(write)
        if n == 1:
            write(frame(event(26, 20, "cal_old", 0.15), "snapshot") + heartbeat(26))
        else:
            write(frame(event(7, 6, "cal_new", 0.33), "snapshot") + heartbeat(7))

    stub = SseStub(script)
    stub.threshold, stub.etag = threshold_body("cal_old", 0.15), '"cal_old.26"'
    return stub, writers


class ClientAfterResetTest(unittest.TestCase):
    """The clients with stream=True after the server's state is reset (seq goes back)."""

    def test_sync_client_serves_the_servers_current_calibration_and_tells_history_restarted(self) -> None:
        stub, writers = _reset_stub()
        self.addCleanup(stub.close)
        client = Client(stub.url, "t", stream={"read_timeout": 5.0, "backoff_initial": 0.01}, background=False)
        self.addCleanup(client.close)
        seen: List[Any] = []
        client.subscribe(seen.append)
        self.assertEqual(client.get_threshold(GATE, 0.1).calibration_id, "cal_old")
        self.assertTrue(wait_until(lambda: list(client.streams().values()) == [26]))
        # the server starts over: a new state whose newest event is 7
        stub.threshold, stub.etag = threshold_body("cal_new", 0.33), '"cal_new.7"'
        writers[0](b"")  # the old server goes: the stream resumes after 26
        self.assertTrue(wait_until(lambda: list(client.streams().values()) == [7]), client.streams())
        r = client.get_threshold(GATE, 0.1)
        self.assertEqual((r.calibration_id, r.threshold, r.reason), ("cal_new", 0.33, "cached"))
        restarted = [e for e in seen if e.type == "history_restarted"]
        self.assertEqual(len(restarted), 1)
        self.assertEqual((restarted[0].gate, restarted[0].event), (GATE, {"last_seq": 26, "head_seq": 7}))
        changes = [(e.calibration_id, e.previous_calibration_id) for e in seen if e.type == "calibration"]
        self.assertEqual(changes[-1], ("cal_new", "cal_old"))

    def test_async_client_serves_the_servers_current_calibration(self) -> None:
        stub, writers = _reset_stub()
        self.addCleanup(stub.close)

        async def main() -> Dict[str, Any]:
            client = AsyncClient(stub.url, "t", stream={"read_timeout": 5.0, "backoff_initial": 0.01})
            try:
                self.assertEqual((await client.get_threshold(GATE, 0.1)).calibration_id, "cal_old")
                for _ in range(500):
                    if list(client.streams().values()) == [26]:
                        break
                    await asyncio.sleep(0.01)
                stub.threshold, stub.etag = threshold_body("cal_new", 0.33), '"cal_new.7"'
                writers[0](b"")
                for _ in range(500):
                    if list(client.streams().values()) == [7]:
                        break
                    await asyncio.sleep(0.01)
                r = await client.get_threshold(GATE, 0.1)
                return {"calibration_id": r.calibration_id, "reason": r.reason}
            finally:
                await client.close()

        self.assertEqual(asyncio.run(main()), {"calibration_id": "cal_new", "reason": "cached"})


if __name__ == "__main__":
    unittest.main()
