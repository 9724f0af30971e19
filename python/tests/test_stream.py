"""Pushed changes (scoregate._stream) against a local stub of GET /v1/events that writes a real text/event-stream:
events applied once and in order across a connection cut in the middle of a frame (resumed with Last-Event-ID), gaps
resumed, 404 and 401 handled, Retry-After and the ``retry:`` field honoured; the sync and asyncio clients serve a pushed
activation at once without polling, keep it over an older poll answer, and open no stream once closed. Also a
promotion's arms by assignment key and the promotion reported with the counts, and shadow sampling: ``shadows_for``
names at once what ``shadow()`` reports for (the shared table of fixtures/assignment.json)."""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import socket
import threading
import time
import unittest
import urllib.error
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional

from scoregate import AsyncClient, Client, Gate
from scoregate._assignment import bucket_of
from scoregate._stream import GateStream, SseParser, StreamOptions
from scoregate._thresholds import Plan, ThresholdCache
from support import CACHE_CONTROL, Clock, OpenerAnswer, StubServer, error, threshold_body, wait_until

GATE = Gate("e5", "bge", index="docs")


def event(seq: int, prev: int, cal: Optional[str] = None, threshold: float = 0.42) -> Dict[str, Any]:
    cal = cal or f"cal_{seq:010d}"
    return {
        "v": 1, "seq": seq, "prev_seq": prev, "gate_id": "g1", "kind": "activation", "at": "2026-01-01T00:00:00.000Z",
        "actor": "alice", "reason": None, "calibration_id": cal, "served": threshold_body(cal, threshold), "promotion": None,
        "details": None,
    }


def frame(e: Dict[str, Any], name: str = "gate") -> bytes:
    return f"id: {e['seq']}\nevent: {name}\ndata: {json.dumps(e)}\n\n".encode()


class SseStub:
    """`script(n, write, last_event_id)` runs for the n-th events connection; `write(b"")` cuts the connection.
    GET /v1/threshold answers `threshold` with ETag `etag` (its connection is cut unanswered while `threshold_down`)."""

    def __init__(self, script: Callable[[int, Callable[[bytes], None], Optional[str]], None]):
        self.connections: List[Optional[str]] = []
        #: time.monotonic() of each events connection
        self.connected_at: List[float] = []
        self.threshold_gets = 0
        self.threshold_down = False
        self.threshold: Dict[str, Any] = threshold_body("cal_0000000005")
        self.etag = '"cal_0000000005.5"'
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path.startswith("/v1/threshold"):
                    if stub.threshold_down:
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    stub.threshold_gets += 1
                    data = json.dumps(stub.threshold).encode()
                    self.send_response(200)
                    for k, v in {"Content-Type": "application/json", "ETag": stub.etag, "Cache-Control": CACHE_CONTROL, "Content-Length": str(len(data))}.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                    return
                stub.connected_at.append(time.monotonic())
                stub.connections.append(self.headers.get("Last-Event-ID"))
                n = len(stub.connections)

                def write(b: bytes) -> None:
                    if b == b"":
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
                    self.wfile.flush()

                def start(status: int = 200, error: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None) -> None:
                    self.send_response(status)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    if status == 200:
                        self.send_header("Content-Type", "text/event-stream")
                        self.send_header("Transfer-Encoding", "chunked")
                    elif error is not None:
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(error)))
                    else:
                        self.send_header("Content-Length", "0")
                    self.end_headers()
                    if status != 200 and error is not None:
                        self.wfile.write(error)
                        self.wfile.flush()

                write.start = start  # type: ignore[attr-defined]
                try:
                    script(n, write, self.headers.get("Last-Event-ID"))
                    stub.hold.wait(5)
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.hold = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # a short poll: shutdown() waits for it, once per test
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


class StreamTest(unittest.TestCase):
    def test_parser(self) -> None:
        frames: List[Any] = []
        p = SseParser(lambda e, d, i: frames.append((e, d, i)))
        for line in [": hb\n", "id: 7\r\n", "event: gate\n", 'data: {"a"\n', "data: 1}\n", "\n", "data: x\n", "\n"]:
            p.line(line)
        self.assertEqual(frames, [("gate", '{"a"\n1}', "7"), ("message", "x", None)])

    def _stream(self, stub: SseStub, **kw: Any) -> Any:
        seqs: List[int] = []
        states: List[str] = []
        s = GateStream(
            f"{stub.url}/v1/events?embedding=e5&reranker=bge",
            lambda: {"Authorization": "Bearer t"},
            StreamOptions(**{"read_timeout": 2.0, "backoff_initial": 0.01, "backoff_max": 0.05, "recovery": 0.05, **kw}),
            on_event=lambda e, _snapshot: seqs.append(e["seq"]),
            on_state=lambda st, _r: states.append(st),
            clock=lambda: 0.0,
            rng=lambda: 0.5,
        )
        s.start()
        self.addCleanup(s.close)
        return s, seqs, states

    def test_resume_after_a_cut_in_the_middle_of_a_frame_and_gaps(self) -> None:
        def script(n: int, write: Any, last: Optional[str]) -> None:
            write.start()
            if n == 1:
                write(frame(event(5, 0), "snapshot") + frame(event(7, 5)) + frame(event(9, 7))[:30])
                write(b"")
            elif n == 2:
                write(frame(event(7, 5)) + frame(event(12, 11)))  # a duplicate, then a gap (11 never came)
            else:
                write(frame(event(9, 7)) + frame(event(11, 9)) + frame(event(12, 11)))

        stub = SseStub(script)
        self.addCleanup(stub.close)
        _, seqs, states = self._stream(stub)
        self.assertTrue(wait_until(lambda: seqs == [5, 7, 9, 11, 12]), seqs)
        self.assertEqual(stub.connections, [None, "7", "7"])
        self.assertEqual(states[:2], ["open", "reconnecting"])

    def test_a_redirect_to_another_origin_is_not_followed_with_the_token(self) -> None:
        # as the threshold and observation requests: urllib would resend the Authorization header to the other host
        elsewhere = StubServer()
        self.addCleanup(elsewhere.close)
        elsewhere.handler = lambda *a: (200, {}, None)
        redirector = StubServer()
        self.addCleanup(redirector.close)
        redirector.handler = lambda *a: (302, {"Location": f"{elsewhere.url}/v1/events"}, None)
        states: List[str] = []
        s = GateStream(
            f"{redirector.url}/v1/events?embedding=e5&reranker=bge",
            lambda: {"Authorization": "Bearer t"},
            StreamOptions(read_timeout=2.0, backoff_initial=0.01, backoff_max=0.05, recovery=5.0),
            on_event=lambda e, _snapshot: None,
            on_state=lambda st, _r: states.append(st),
            clock=lambda: 0.0,
            rng=lambda: 0.5,
        )
        s.start()
        self.addCleanup(s.close)
        self.assertTrue(wait_until(lambda: len(redirector.requests) >= 2 or "polling" in states))
        self.assertEqual(elsewhere.requests, [])

    def test_404_polls_then_comes_back_and_401_stops(self) -> None:
        def script(n: int, write: Any, last: Optional[str]) -> None:
            if n == 1:
                write.start(404)
                return
            write.start()
            write(frame(event(3, 0), "snapshot"))

        stub = SseStub(script)
        self.addCleanup(stub.close)
        _, seqs, states = self._stream(stub)
        self.assertTrue(wait_until(lambda: seqs == [3]))
        self.assertEqual(states[:2], ["polling", "open"])

        # the polling reason says what the server said: a gate that does not exist is named as such
        message = "gate gat_x does not exist: it is created by its first calibration upload"
        body = json.dumps({"error": {"code": "not_found", "message": message}}).encode()
        missing = SseStub(lambda n, write, last: write.start(404, body))
        self.addCleanup(missing.close)
        reasons: List[str] = []
        s = GateStream(
            f"{missing.url}/v1/events?embedding=e5&reranker=bge",
            lambda: {"Authorization": "Bearer t"},
            StreamOptions(read_timeout=2.0, backoff_initial=0.01, backoff_max=0.05, recovery=5.0),
            on_event=lambda e, _snapshot: None,
            on_state=lambda st, r: reasons.append(f"{st}|{r}"),
            clock=lambda: 0.0,
            rng=lambda: 0.5,
        )
        s.start()
        self.addCleanup(s.close)
        self.assertTrue(wait_until(lambda: len(reasons) > 0))
        self.assertEqual(reasons[0], f"polling|404 not_found: {message}: polling instead")

        refused = SseStub(lambda n, write, last: write.start(401))
        self.addCleanup(refused.close)
        _, _, states = self._stream(refused)
        self.assertTrue(wait_until(lambda: states == ["stopped"]))
        self.assertEqual(len(refused.connections), 1)

    def test_retry_after_and_the_retry_field_delay_the_reconnect(self) -> None:
        def gaps(stub: SseStub) -> List[float]:
            t = stub.connected_at
            return [b - a for a, b in zip(t, t[1:])]

        # a 429 polls, and tries the stream again after its Retry-After (1 s), not after `recovery` (0.05 s)
        limited = SseStub(lambda n, write, last: write.start(429, None, {"Retry-After": "1"}) if n == 1 else (write.start(), write(frame(event(3, 0), "snapshot"))))
        self.addCleanup(limited.close)
        _, seqs, states = self._stream(limited)
        self.assertTrue(wait_until(lambda: seqs == [3]))
        self.assertEqual(states[:2], ["polling", "open"])
        self.assertGreaterEqual(gaps(limited)[0], 0.95)

        # a 503 reconnects with backoff (0.01 s), but never sooner than its Retry-After
        unavailable = SseStub(lambda n, write, last: write.start(503, None, {"Retry-After": "1"}) if n == 1 else (write.start(), write(frame(event(3, 0), "snapshot"))))
        self.addCleanup(unavailable.close)
        _, seqs, states = self._stream(unavailable)
        self.assertTrue(wait_until(lambda: seqs == [3]))
        self.assertEqual(states[:2], ["reconnecting", "open"])
        self.assertGreaterEqual(gaps(unavailable)[0], 0.95)

        # `retry: 800` makes 0.8 s the backoff's first delay (half to all of it: 0.6 s with rng 0.5), for every reconnect
        def told(n: int, write: Any, last: Optional[str]) -> None:
            write.start()
            write((b"retry: 800\n\n" if n == 1 else b"") + replay(last, 4 + n))
            if n <= 2:
                write(b"")

        paced = SseStub(told)
        self.addCleanup(paced.close)
        s, seqs, states = self._stream(paced, backoff_max=5.0)
        self.assertTrue(wait_until(lambda: seqs == [5, 6, 7]), seqs)
        self.assertEqual(paced.connections, [None, "5", "6"])
        self.assertGreaterEqual(gaps(paced)[0], 0.55)
        self.assertGreaterEqual(gaps(paced)[1], 1.15)  # the second failure in a row: 1.6 s, half to all of it

    def test_the_parser_takes_retry_in_ascii_digits_only(self) -> None:
        retries: List[int] = []
        p = SseParser(lambda e, d, i: None, retries.append)
        for line in ["retry: 1500\n", "retry: 1.5\n", "retry: -1\n", "retry:\n", "retry: \u0661\u0662\n", "retry:20\n"]:
            p.line(line)
        self.assertEqual(retries, [1500, 20])


def heartbeat(head: int) -> bytes:
    return f'event: heartbeat\ndata: {json.dumps({"v": 1, "head_seq": head, "at": "2026-01-01T00:00:00.000Z"})}\n\n'.encode()


def replay(last: Optional[str], head: int) -> bytes:
    """What the server sends a subscriber resuming after ``last``: every event after it, up to ``head`` (seqs 5, 6, ...)."""
    after = int(last) if last is not None else 4
    return b"".join(frame(event(q, q - 1) if q > 5 else event(5, 0), "gate" if q > 5 else "snapshot") for q in range(after + 1, head + 1))


class StreamReconnectTest(unittest.TestCase):
    """Reconnects as real traffic produces them; each checks the Last-Event-ID of every connection, that every event is
    applied once and in order, and that the stream ends ``open`` (or ``polling`` with its reason)."""

    def _stream(self, stub: SseStub, on_event: Optional[Callable[[Dict[str, Any]], None]] = None, **kw: Any) -> Any:
        seqs: List[int] = []
        states: List[Any] = []
        o = {"read_timeout": 2.0, "backoff_initial": 0.01, "backoff_max": 0.05, "recovery": 0.05, **kw}

        def applied(e: Dict[str, Any], _snapshot: bool) -> None:
            seqs.append(e["seq"])
            if on_event is not None:
                on_event(e)

        s = GateStream(
            f"{stub.url}/v1/events?embedding=e5&reranker=bge",
            lambda: {"Authorization": "Bearer t"},
            StreamOptions(**o),
            on_event=applied,
            on_state=lambda st, r: states.append((st, r)),
            clock=lambda: 0.0,
            rng=lambda: 0.5,
        )
        s.start()
        self.addCleanup(s.close)
        return s, seqs, states

    def _resuming_stub(self, head: Callable[[int], int], then: Callable[[int, Any], None] = lambda n, write: None) -> SseStub:
        """Each connection n is sent what it missed up to ``head(n)``, then ``then(n, write)`` runs."""

        def script(n: int, write: Any, last: Optional[str]) -> None:
            write.start()
            write(replay(last, head(n)) + heartbeat(head(n)))
            then(n, write)

        stub = SseStub(script)
        self.addCleanup(stub.close)
        return stub

    def test_drop_while_open_resumes_after_the_last_event(self) -> None:
        stub = self._resuming_stub(lambda n: 6 + n)
        s, seqs, states = self._stream(stub)
        self.assertTrue(wait_until(lambda: seqs == [5, 6, 7]), seqs)
        s.drop()
        self.assertTrue(wait_until(lambda: seqs == [5, 6, 7, 8] and s.state == "open"), (seqs, states))
        self.assertEqual(stub.connections, [None, "7"])
        self.assertEqual([st for st, _ in states], ["open", "reconnecting", "open"])
        self.assertEqual(states[2][1], "resumed after 7")

    def test_drop_twice_in_a_row_opens_one_connection(self) -> None:
        stub = self._resuming_stub(lambda n: 5 + n)
        s, seqs, _ = self._stream(stub, backoff_initial=0.2, backoff_max=0.2)
        self.assertTrue(wait_until(lambda: seqs == [5, 6]), seqs)
        s.drop()
        s.drop()
        self.assertTrue(wait_until(lambda: s.state == "reconnecting"))
        s.drop()  # while the reconnect waits: nothing to drop
        self.assertTrue(wait_until(lambda: seqs == [5, 6, 7] and s.state == "open"), seqs)
        self.assertEqual(stub.connections, [None, "6"])

    def test_server_closing_after_its_first_heartbeat_resumes_each_time_then_polls_with_the_reason(self) -> None:
        stub = self._resuming_stub(lambda n: 4 + n, lambda n, write: write(b"") if n <= 3 else None)
        s, seqs, states = self._stream(stub, max_failures=3)
        self.assertTrue(wait_until(lambda: seqs == [5, 6, 7, 8] and s.state == "open"), (seqs, states))
        self.assertEqual(stub.connections, [None, "5", "6", "7"])
        self.assertEqual([st for st, _ in states], ["open", "reconnecting", "open", "reconnecting", "open", "polling", "open"])
        self.assertEqual(states[5], ("polling", "the server closed the stream"))

    def test_drop_from_inside_an_event_listener_neither_misses_nor_repeats(self) -> None:
        holder: List[GateStream] = []
        stub = self._resuming_stub(lambda n: 7 if n == 1 else 8)
        s, seqs, _ = self._stream(stub, on_event=lambda e: holder[0].drop() if e["seq"] == 6 else None)
        holder.append(s)
        self.assertTrue(wait_until(lambda: seqs == [5, 6, 7, 8] and s.state == "open"), seqs)
        # what was read before the socket went is applied; the new connection resumes after it
        self.assertEqual(len(stub.connections), 2)
        self.assertIn(stub.connections[1], ("6", "7"))

    def test_a_network_error_on_the_reconnect_request_then_success(self) -> None:
        def script(n: int, write: Any, last: Optional[str]) -> None:
            if n == 2:
                write(b"")  # the socket goes before any answer
                return
            write.start()
            write(replay(last, 5 + n) + heartbeat(5 + n))

        stub = SseStub(script)
        self.addCleanup(stub.close)
        s, seqs, states = self._stream(stub)
        self.assertTrue(wait_until(lambda: seqs == [5, 6]), seqs)
        s.drop()
        self.assertTrue(wait_until(lambda: seqs == [5, 6, 7, 8] and s.state == "open"), (seqs, states))
        self.assertEqual(stub.connections, [None, "6", "6"])
        self.assertEqual([st for st, _ in states], ["open", "reconnecting", "reconnecting", "open"])

    def test_a_listener_that_raises_does_not_end_the_stream(self) -> None:
        def boom(e: Dict[str, Any]) -> None:
            if e["seq"] == 6:
                raise KeyError("listener bug")

        stub = self._resuming_stub(lambda n: 6 + n)
        with self.assertLogs("scoregate", "ERROR") as logged:
            s, seqs, _ = self._stream(stub, on_event=boom)
            self.assertTrue(wait_until(lambda: seqs == [5, 6, 7, 8] and s.state == "open"), seqs)
        self.assertEqual(stub.connections, [None, "6"])
        self.assertIn("stream listener failed", logged.output[0])

    def test_close_while_reconnecting_ends_the_thread_and_stays_stopped(self) -> None:
        stub = self._resuming_stub(lambda n: 5)
        s, seqs, _ = self._stream(stub, backoff_initial=30.0, backoff_max=30.0)
        self.assertTrue(wait_until(lambda: seqs == [5]))
        s.drop()
        self.assertTrue(wait_until(lambda: s.state == "reconnecting"))
        s.close()
        s._thread.join(2)
        self.assertFalse(s._thread.is_alive())
        self.assertEqual(s.state, "stopped")
        self.assertEqual(len(stub.connections), 1)

    def test_close_racing_a_failure_leaves_the_stream_stopped(self) -> None:
        stub = self._resuming_stub(lambda n: 5)
        holder: List[GateStream] = []
        closing = threading.Event()

        def clock() -> float:
            # the stream reads the clock after it saw the connection end and before it says `reconnecting`: close there
            if closing.is_set() and holder:
                closing.clear()
                holder[0].close()
            return 0.0

        s = GateStream(f"{stub.url}/v1/events?embedding=e5&reranker=bge", lambda: {}, StreamOptions(read_timeout=2.0), on_event=lambda e, _snapshot: None, clock=clock, rng=lambda: 0.5)
        holder.append(s)
        s.start()
        self.addCleanup(s.close)
        self.assertTrue(wait_until(lambda: s.last == 5))
        closing.set()
        s.drop()
        s._thread.join(2)
        self.assertFalse(s._thread.is_alive())
        self.assertEqual(s.state, "stopped")


class ClientStreamTest(unittest.TestCase):
    def _stub(self) -> Any:
        pushes: List[Any] = []

        def script(n: int, write: Any, last: Optional[str]) -> None:
            write.start()
            write(frame(event(5, 0, "cal_0000000005"), "snapshot"))
            pushes.append(write)

        stub = SseStub(script)
        self.addCleanup(stub.close)
        return stub, pushes

    def test_sync_client_serves_a_pushed_activation_at_once(self) -> None:
        stub, pushes = self._stub()
        client = Client(stub.url, "t", stream={"read_timeout": 5.0}, background=False)
        self.addCleanup(client.close)
        self.assertEqual(client.get_threshold(GATE, 0.1).calibration_id, "cal_0000000005")
        self.assertTrue(wait_until(lambda: len(pushes) == 1 and list(client.streams().values()) == [5]))
        # the first value came by a GET or, when the stream's snapshot won the race on a slow machine, by the stream:
        # what is tested is that the push is served without another GET
        gets = stub.threshold_gets
        self.assertLessEqual(gets, 1)
        pushes[0](frame(event(8, 5, "cal_0000000008", 0.55)))
        self.assertTrue(wait_until(lambda: client.get_threshold(GATE, 0.1).calibration_id == "cal_0000000008"))
        r = client.get_threshold(GATE, 0.1)
        self.assertEqual((r.threshold, r.reason), (0.55, "cached"))
        self.assertEqual(stub.threshold_gets, gets)

    def test_sync_client_tells_listeners_of_a_pushed_activation(self) -> None:
        stub, pushes = self._stub()
        client = Client(stub.url, "t", stream={"read_timeout": 5.0}, background=False)
        self.addCleanup(client.close)
        seen: List[Any] = []
        client.subscribe(seen.append)
        client.get_threshold(GATE, 0.1)
        self.assertTrue(wait_until(lambda: len(pushes) == 1 and list(client.streams().values()) == [5]))
        pushes[0](frame(event(8, 5, "cal_0000000008", 0.55)))
        self.assertTrue(wait_until(lambda: any(e.type == "gate" and e.event["seq"] == 8 for e in seen)))
        pushed = [e for e in seen if e.type == "calibration" and e.calibration_id == "cal_0000000008"]
        self.assertEqual(len(pushed), 1)
        self.assertEqual((pushed[0].previous_calibration_id, pushed[0].threshold), ("cal_0000000005", 0.55))
        # the calibration event comes before the gate event of the same push, as in the TypeScript client
        kinds = [(e.type, e.calibration_id) for e in seen if e.type in ("calibration", "gate")]
        self.assertLess(kinds.index(("calibration", "cal_0000000008")), [i for i, k in enumerate(kinds) if k[0] == "gate"][-1])
        # the state sent at connect is the gate's last change, perhaps long past: said as a snapshot, the push as none
        self.assertEqual([(e.event["seq"], e.snapshot) for e in seen if e.type == "gate"], [(5, True), (8, False)])

    def test_async_client_serves_a_pushed_activation_at_once(self) -> None:
        stub, pushes = self._stub()

        async def main() -> None:
            client = AsyncClient(stub.url, "t", stream=True)
            try:
                self.assertEqual((await client.get_threshold(GATE, 0.1)).calibration_id, "cal_0000000005")
                for _ in range(300):
                    if pushes and list(client.streams().values()) == [5]:
                        break
                    await asyncio.sleep(0.01)
                # the first value came by a GET or, when the stream's snapshot won the race on a slow machine, by the
                # stream (the GET then never left): what is tested is that the push needs no GET
                gets.append(stub.threshold_gets)
                pushes[0](frame(event(8, 5, "cal_0000000008", 0.55)))
                for _ in range(300):
                    if (await client.get_threshold(GATE, 0.1)).calibration_id == "cal_0000000008":
                        break
                    await asyncio.sleep(0.01)
                self.assertEqual((await client.get_threshold(GATE, 0.1)).threshold, 0.55)
            finally:
                await client.close()

        gets: List[int] = []
        asyncio.run(main())
        self.assertLessEqual(gets[0], 1)
        self.assertEqual(stub.threshold_gets, gets[0])


def lagging_poll(release: threading.Event, seq: int = 5, sent: Optional[List[Optional[str]]] = None) -> Callable[..., Any]:
    """An opener whose GET /v1/threshold answers, once ``release`` is set, calibration ``seq`` with its ETag, as a copy
    read before the activation of a later seq would. ``sent`` collects each request's If-None-Match."""

    def opener(req: Any, timeout: float) -> Any:
        if sent is not None:
            sent.append(req.get_header("If-none-match"))
        release.wait(5)
        h = http.client.HTTPMessage()
        h["ETag"], h["Cache-Control"], h["Content-Type"] = f'"cal_{seq:010d}.{seq}"', CACHE_CONTROL, "application/json"
        return OpenerAnswer(200, h, json.dumps(threshold_body(f"cal_{seq:010d}", 0.3)).encode())

    return opener


class OlderPollTest(unittest.TestCase):
    """A poll and the stream in flight together (a cold start with streaming): a 200 older than the pushed value it
    finds (its ETag's seq is lower) neither replaces that value nor renews its lifetimes, whichever arrives first."""

    def _stub(self, wait_for: Optional[threading.Event] = None) -> SseStub:
        # The stream stays open until the test ends: a reconnect would push the snapshot again and renew its lifetime
        # at whatever the fake clock reads then (the stub's default holds a connection 5 s of real time, which a loaded
        # machine can spend between the push and the read past its lifetime).
        ended = threading.Event()

        def script(n: int, write: Any, last: Optional[str]) -> None:
            if wait_for is not None:
                wait_for.wait(5)
            write.start()
            write(frame(event(6, 0, "cal_0000000006", 0.6), "snapshot"))
            ended.wait(60)

        stub = SseStub(script)
        self.addCleanup(stub.close)
        self.addCleanup(ended.set)  # runs first (cleanups run last in, first out): the connection ends, then the stub
        return stub

    def test_sync_a_lagging_404_after_the_push_keeps_the_pushed_value(self) -> None:
        # a replica that has not seen the gate's first activation answers 404 uncalibrated after the stream pushed it
        stub, release, clock = self._stub(), threading.Event(), Clock()

        def opener(req: Any, timeout: float) -> Any:
            release.wait(5)
            h = http.client.HTTPMessage()
            h["Content-Type"] = "application/json"
            body = b'{"error": {"code": "uncalibrated", "message": "no calibration"}}'
            raise urllib.error.HTTPError(req.full_url, 404, "Not Found", h, io.BytesIO(body))

        client = Client(stub.url, "t", stream={"read_timeout": 7.0}, background=False, opener=opener, timeout=3.0, clock=clock)
        self.addCleanup(client.close)
        pushed: List[Any] = []
        client.subscribe(lambda e: pushed.append(e) if e.type == "gate" else None)
        t = threading.Thread(target=lambda: client.get_threshold(GATE, 0.1))
        t.start()
        self.assertTrue(wait_until(lambda: len(pushed) == 1))
        release.set()
        t.join(5)
        r = client.get_threshold(GATE, 0.1)
        self.assertEqual((r.calibration_id, r.reason), ("cal_0000000006", "cached"))

    def test_sync_a_poll_answered_after_the_push_keeps_the_pushed_value_and_its_lifetimes(self) -> None:
        stub, release, clock = self._stub(), threading.Event(), Clock()
        # read_timeout 7 s, the answer's max-age 5 s: a renewed lifetime would show as `stale` at 6 s
        sent: List[Optional[str]] = []
        client = Client(
            stub.url, "t", stream={"read_timeout": 7.0}, background=False, opener=lagging_poll(release, sent=sent), timeout=3.0, clock=clock
        )
        self.addCleanup(client.close)
        pushed: List[Any] = []
        client.subscribe(lambda e: pushed.append(e) if e.type == "gate" else None)  # told once the cache holds it
        results: List[Any] = []
        t = threading.Thread(target=lambda: results.append(client.get_threshold(GATE, 0.1)))
        t.start()
        self.assertTrue(wait_until(lambda: len(pushed) == 1))
        clock.advance(1.0)
        release.set()
        t.join(5)
        # "calibrated" when the call waited for the push; "cached" when, on a slow machine, the push landed before the
        # call looked at its cache: either way the pushed value, never the lagging poll's
        self.assertEqual(results[0].calibration_id, "cal_0000000006")
        self.assertIn(results[0].reason, ("calibrated", "cached"))
        clock.advance(5.0)
        r = client.get_threshold(GATE, 0.1)
        self.assertEqual((r.calibration_id, r.threshold, r.reason), ("cal_0000000006", 0.6, "cached"))
        clock.advance(1.5)  # 7.5 s after the push: past the stream's lifetime, so a revalidation starts
        self.assertEqual(client.get_threshold(GATE, 0.1).calibration_id, "cal_0000000006")
        # it proves the pushed seq (the server then answers from its record, never from a copy older than that); the
        # revalidation runs in a thread of its own: a loaded machine (the suite beside a local worker) may take seconds
        self.assertTrue(wait_until(lambda: len(sent) == 2, timeout=15.0))
        self.assertEqual(sent, [None, '"cal_0000000006.6"'])

    def test_sync_a_poll_answered_before_the_push_is_replaced_by_it(self) -> None:
        pushed = threading.Event()
        release = threading.Event()
        release.set()
        stub = self._stub(wait_for=pushed)
        client = Client(stub.url, "t", stream={"read_timeout": 7.0}, background=False, opener=lagging_poll(release), timeout=3.0)
        self.addCleanup(client.close)
        self.assertEqual(client.get_threshold(GATE, 0.1).calibration_id, "cal_0000000005")
        pushed.set()
        self.assertTrue(wait_until(lambda: client.get_threshold(GATE, 0.1).calibration_id == "cal_0000000006"))
        self.assertEqual(client.get_threshold(GATE, 0.1).reason, "cached")

    def test_sync_an_event_pushed_before_the_first_read_made_the_entry_is_kept(self) -> None:
        stub, release = self._stub(), threading.Event()
        polls: List[Any] = []
        lagging = lagging_poll(release)
        client = Client(stub.url, "t", stream={"read_timeout": 7.0}, background=False, opener=lambda *a: polls.append(a) or lagging(*a), timeout=3.0)
        self.addCleanup(client.close)
        pushed: List[Any] = []
        client.subscribe(lambda e: pushed.append(e) if e.type == "gate" else None)
        client._watch(GATE)  # the stream a first read opens, its snapshot arriving before that read's cache lookup
        self.assertTrue(wait_until(lambda: len(pushed) == 1))
        release.set()
        r = client.get_threshold(GATE, 0.1)
        self.assertEqual((r.calibration_id, r.reason, polls), ("cal_0000000006", "cached", []))

    def test_async_a_poll_answered_after_the_push_keeps_the_pushed_value(self) -> None:
        stub, release = self._stub(), threading.Event()

        async def main() -> None:
            client = AsyncClient(stub.url, "t", stream={"read_timeout": 7.0}, background=False, opener=lagging_poll(release), timeout=3.0)
            try:
                pushed: List[Any] = []
                client.subscribe(lambda e: pushed.append(e) if e.type == "gate" else None)  # told once the cache holds it
                waiting = asyncio.ensure_future(client.get_threshold(GATE, 0.1))
                for _ in range(300):
                    if pushed:
                        break
                    await asyncio.sleep(0.01)
                release.set()
                self.assertEqual((await waiting).calibration_id, "cal_0000000006")
                r = await client.get_threshold(GATE, 0.1)
                self.assertEqual((r.calibration_id, r.threshold, r.reason), ("cal_0000000006", 0.6, "cached"))
            finally:
                await client.close()

        asyncio.run(main())


class PushedAndPolledTest(unittest.TestCase):
    """The cache itself (no threads, a controlled clock) when a poll and a pushed event cross: an answer vouches only
    for what it answers; a pushed uncalibrated state keeps its seq, so an older answer cannot undo it."""

    def setUp(self) -> None:
        self.clock = Clock()
        self.cache = ThresholdCache(
            base_url="https://scoregate.test",
            token="t",
            timeout=3.0,
            backoff=(1.0, 60.0),
            max_stale=None,
            max_gates=10,
            clock=self.clock,
            rng=lambda: 0.5,
            new_flight=threading.Event,
        )
        self.events: List[Any] = []
        self.cache.subscribe(self.events.append)

    def poll(self) -> Plan:
        plan = self.cache.plan(GATE, 0.1)
        self.assertTrue(plan.start)
        return plan

    @staticmethod
    def answer(seq: int, cache_control: str = "private, max-age=5") -> Any:
        cal = f"cal_{seq:010d}"
        return 200, {"ETag": f'"{cal}.{seq}"', "Cache-Control": cache_control}, threshold_body(cal, 0.3)

    @staticmethod
    def uncalibrated(cache_control: str) -> Any:
        return 404, {"Cache-Control": cache_control}, {"error": {"code": "uncalibrated", "message": "no calibration"}}

    @staticmethod
    def not_modified(etag: str) -> Any:
        return 304, {"ETag": etag, "Cache-Control": "private, max-age=600"}, None

    def test_an_older_200_does_not_undo_a_pushed_uncalibrated_state(self) -> None:
        plan = self.poll()
        self.cache.pushed(GATE, {**event(6, 0), "served": None}, 45.0)
        self.cache.settle(plan, self.answer(5))  # a lagging replica's value, read before the push
        r = self.cache.plan(GATE, 0.1).answer
        assert r is not None
        self.assertEqual((r.reason, r.calibration_id), ("uncalibrated", None))
        self.assertEqual([e.type for e in self.events], ["uncalibrated", "gate"])

    def test_an_older_404_leaves_the_lifetimes_of_a_pushed_uncalibrated_state(self) -> None:
        plan = self.poll()
        self.cache.pushed(GATE, {**event(6, 0), "served": None}, 45.0)
        self.cache.settle(plan, self.uncalibrated("private, max-age=1"))
        self.clock.advance(10.0)
        later = self.cache.plan(GATE, 0.1)
        self.assertFalse(later.start)
        self.assertEqual(later.answer.reason if later.answer else None, "uncalibrated")

    def test_after_an_uncalibrated_push_a_poll_sends_its_seq_and_takes_the_answer(self) -> None:
        self.cache.settle(self.poll(), self.answer(5))
        self.cache.pushed(GATE, {**event(6, 5), "served": None}, 45.0)
        self.clock.advance(50.0)  # past the stream's lifetime: the next read polls, proving the pushed seq
        plan = self.poll()
        self.assertEqual((plan.headers or {}).get("If-None-Match"), '"cal_0000000006.6"')
        self.cache.settle(plan, self.uncalibrated("private, max-age=600"))
        self.clock.advance(60.0)
        self.assertFalse(self.cache.plan(GATE, 0.1).start)  # taken: fresh for its max-age
        self.clock.advance(600.0)
        plan = self.poll()
        self.assertNotIn("If-None-Match", plan.headers or {})
        # answered knowing the pushed seq, a lower seq is the server's record (a restored database): taken
        self.cache.settle(plan, self.answer(4))
        r = self.cache.plan(GATE, 0.1).answer
        assert r is not None
        self.assertEqual((r.calibration_id, r.reason), ("cal_0000000004", "cached"))

    def test_a_poll_answer_no_newer_than_the_push_keeps_the_streams_lifetime(self) -> None:
        # a cold read's poll answered just after the stream's snapshot, with the same seq and max-age=5: taken as it
        # is, the gate would poll every 5 s with the stream open until the first heartbeat (15 s after connecting)
        plan = self.poll()
        self.cache.pushed(GATE, event(5, 0), 45.0)
        self.cache.settle(plan, self.answer(5))
        reasons = []
        for t in range(5, 45, 5):
            self.clock.advance(5.0)
            if t in (15, 30):
                self.cache.pushed(GATE, None, 45.0)  # a heartbeat
            later = self.cache.plan(GATE, 0.1)
            self.assertFalse(later.start, f"a poll {t} s after the stream's snapshot")
            reasons.append(later.answer.reason if later.answer else None)
        self.assertEqual(reasons, ["cached"] * 8)

    def test_a_poll_answer_newer_than_the_push_keeps_its_own_max_age(self) -> None:
        plan = self.poll()
        self.cache.pushed(GATE, event(5, 0), 45.0)
        self.cache.settle(plan, self.answer(6))  # the stream has not vouched for seq 6 yet
        self.clock.advance(6.0)
        later = self.cache.plan(GATE, 0.1)
        self.assertTrue(later.start)
        self.assertEqual(later.answer.reason if later.answer else None, "stale")

    def test_after_a_fall_back_to_polling_a_poll_answer_keeps_its_own_max_age(self) -> None:
        plan = self.poll()
        self.cache.pushed(GATE, event(5, 0), 45.0)
        self.cache.pushed(GATE, None, 0)  # the stream failed over to polling: it vouches for nothing now
        self.cache.settle(plan, self.answer(5))
        self.clock.advance(6.0)
        self.assertTrue(self.cache.plan(GATE, 0.1).start)

    def test_a_304_for_the_etag_sent_does_not_renew_a_value_pushed_meanwhile(self) -> None:
        self.cache.settle(self.poll(), self.answer(5))
        self.clock.advance(6.0)
        plan = self.poll()
        self.assertEqual((plan.headers or {}).get("If-None-Match"), '"cal_0000000005.5"')
        self.cache.pushed(GATE, event(6, 5), 45.0)
        self.cache.settle(plan, self.not_modified('"cal_0000000005.5"'))
        self.clock.advance(50.0)  # past the stream's lifetime, not past the 304's max-age=600
        later = self.cache.plan(GATE, 0.1)
        self.assertEqual(later.answer.reason if later.answer else None, "stale")
        self.assertEqual((later.headers or {}).get("If-None-Match"), '"cal_0000000006.6"')
        self.assertEqual([e.type for e in self.events if e.type == "error"], [])

    def test_a_304_for_the_etag_sent_after_an_uncalibrated_push_is_no_failure(self) -> None:
        self.cache.settle(self.poll(), self.answer(5))
        self.clock.advance(6.0)
        plan = self.poll()
        self.cache.pushed(GATE, {**event(6, 5), "served": None}, 45.0)
        self.cache.settle(plan, self.not_modified('"cal_0000000005.5"'))
        r = self.cache.plan(GATE, 0.1).answer
        self.assertEqual(r.reason if r else None, "uncalibrated")
        self.assertEqual([e.type for e in self.events], ["calibration", "uncalibrated", "gate"])


class CloseTest(unittest.TestCase):
    """Once closed, streaming stays stopped: a read after close() (or one in flight during it) polls and opens nothing."""

    def _stub(self) -> SseStub:
        stub = SseStub(lambda n, write, last: (write.start(), write(frame(event(6, 0, "cal_0000000006"), "snapshot"))))
        self.addCleanup(stub.close)
        return stub

    def test_sync_client(self) -> None:
        stub = self._stub()
        client = Client(stub.url, "t", stream={"read_timeout": 5.0}, background=False)
        client.get_threshold(GATE, 0.1)
        self.assertTrue(wait_until(lambda: len(stub.connections) == 1 and list(client.streams().values()) == [6]))
        client.close()
        self.assertEqual(client.get_threshold(GATE, 0.1).calibration_id, "cal_0000000006")
        client.get_threshold(Gate("e5", "bge", index="other"), 0.1)  # a gate first read after close()
        self.assertFalse(wait_until(lambda: len(stub.connections) > 1, timeout=0.5), stub.connections)
        self.assertEqual(client.streams(), {})

    def test_async_client(self) -> None:
        stub = self._stub()

        async def main() -> None:
            client = AsyncClient(stub.url, "t", stream={"read_timeout": 5.0}, background=False)
            await client.get_threshold(GATE, 0.1)
            for _ in range(300):
                if len(stub.connections) == 1 and list(client.streams().values()) == [6]:
                    break
                await asyncio.sleep(0.01)
            await client.close()
            self.assertEqual((await client.get_threshold(GATE, 0.1)).calibration_id, "cal_0000000006")
            await client.get_threshold(Gate("e5", "bge", index="other"), 0.1)
            await asyncio.sleep(0.5)
            self.assertEqual((len(stub.connections), client.streams()), (1, {}))

        asyncio.run(main())


class PromotionArmTest(unittest.TestCase):
    def test_arms_by_key_and_promotion_reported(self) -> None:
        candidate = {"calibration_id": "cal_2", "index_version": "v2", "threshold": 0.6, "expected_drop_rate": 0.3, "guards": {"min_keep": 0, "max_keep": None}, "abstain_below": None}
        body = {**threshold_body("cal_1"), "rollout": {"promotion_id": "prm_1", "step": 1, "percent_bp": 5000, "salt": "prm_1", "state": "running", "candidate": candidate}, "shadows": []}
        sent: List[Any] = []

        class H(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                sent.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        client = Client(f"http://127.0.0.1:{server.server_address[1]}", "t", background=False)
        keys = [f"user-{i}" for i in range(40)]
        for k in keys:
            r = client.get_threshold(GATE, 0.1, assignment_key=k)
            inside = bucket_of("prm_1", k) < 5000
            self.assertEqual((r.calibration_id, r.threshold, r.promotion["arm"]), ("cal_2", 0.6, "candidate") if inside else ("cal_1", 0.42, "control"))
        self.assertEqual(client.get_threshold(GATE, 0.1).promotion, {"id": "prm_1", "step": 1, "arm": "unassigned"})
        # a key that is not a non-empty str (an int id, None, "") is no key, not hashed as its text (as in the TypeScript client)
        for not_a_key in (None, 17, 3.5, ""):
            r = client.get_threshold(GATE, 0.1, assignment_key=not_a_key)  # type: ignore[arg-type]
            self.assertEqual((r.calibration_id, r.promotion["arm"]), ("cal_1", "unassigned"), not_a_key)
        k = next(k for k in keys if bucket_of("prm_1", k) < 5000)
        g = client.gate([{"score": 0.9}, {"score": 0.5}], GATE, fallback=0.1, assignment_key=k)
        self.assertEqual((len(g.kept), g.calibration_id, g.promotion["arm"]), (1, "cal_2", "candidate"))
        client.flush()
        self.assertEqual(sent[0]["promotion"], {"id": "prm_1", "step": 1, "arm": "candidate"})
        self.assertEqual(sent[0]["calibration_id"], "cal_2")
        client.close()


    def test_a_key_with_a_lone_surrogate_is_served_its_arm_as_in_typescript(self) -> None:
        candidate = threshold_body("cal_0000000002", 0.6)
        body = {**threshold_body("cal_0000000001", 0.3), "rollout": {"percent_bp": 5000, "salt": "prm_1", "promotion_id": "prm_1", "step": 1, "candidate": candidate}}

        def opener(req: Any, timeout: float) -> Any:
            h = http.client.HTTPMessage()
            h["ETag"], h["Cache-Control"] = '"cal_0000000001.1"', CACHE_CONTROL
            return OpenerAnswer(200, h, json.dumps(body).encode())

        client = Client("http://scoregate.test", "t", background=False, opener=opener)
        self.addCleanup(client.close)
        client.get_threshold(GATE, 0.1)
        # keys read from JSON (json.loads('"user-\\ud800"')): TextEncoder hashes each lone surrogate as U+FFFD
        keys = [json.loads(f'"user-{i}-\\ud800"') for i in range(12)] + [json.loads('"\\udc00"')]
        arms = set()
        for k in keys:
            r = client.get_threshold(GATE, 0.1, assignment_key=k)
            arm = "candidate" if bucket_of("prm_1", k.replace("\ud800", "\ufffd").replace("\udc00", "\ufffd")) < 5000 else "control"
            self.assertEqual((r.reason, r.error, r.promotion["arm"]), ("cached", None, arm), ascii(k))
            self.assertEqual(r.calibration_id, "cal_0000000002" if arm == "candidate" else "cal_0000000001")
            arms.add(arm)
        self.assertEqual(arms, {"candidate", "control"})

class ShadowTest(unittest.TestCase):
    def test_sampled_keys_are_reported_under_the_shadow_with_role_shadow(self) -> None:
        shadow = {"calibration_id": "cal_3", "index_version": "v2", "threshold": 0.6, "expected_drop_rate": 0.3, "guards": {"min_keep": 0, "max_keep": None}, "abstain_below": None, "sample_rate": 0.2, "since_seq": 4}
        body = {**threshold_body("cal_1"), "rollout": None, "shadows": [shadow]}
        sent: List[Any] = []

        class H(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                sent.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        client = Client(f"http://127.0.0.1:{server.server_address[1]}", "t", background=False)
        keys = [f"session-{i}" for i in range(100)]
        sampled = [k for k in keys if bucket_of("cal_3", k) < 2000]
        for k in keys:
            got = client.shadow([{"score": 0.9}, {"score": 0.5}, {"score": 0.7}], GATE, key=k)
            self.assertEqual(got, ["cal_3"] if k in sampled else [])
        self.assertEqual(client.shadow([{"score": 0.9}], GATE, key=sampled[0], index_version="v9"), [])
        client.flush()
        self.assertEqual(len(sent), 1)
        self.assertEqual((sent[0]["calibration_id"], sent[0]["role"]), ("cal_3", "shadow"))
        self.assertEqual(sent[0]["queries"], [[3, 1]] * len(sampled))
        client.close()


class ShadowsForTest(unittest.TestCase):
    SAMPLING = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "assignment.json").read_text(encoding="utf8"))["shadow_sampling"]
    SERVED = [
        {**s, "threshold": 0.6, "expected_drop_rate": 0.3, "guards": {"min_keep": 0, "max_keep": None}, "abstain_below": None, "since_seq": 4}
        for s in SAMPLING["shadows"]
    ]

    def stub(self, shadows: List[Dict[str, Any]], release: Optional[threading.Event] = None) -> StubServer:
        """GET /v1/threshold serves ``shadows`` (after ``release`` is set, if given: at most 5 s later); POST accepts."""
        stub = StubServer()
        self.addCleanup(stub.close)

        def handler(method: str, path: str, headers: Dict[str, str], body: Any) -> Any:
            if method == "POST":
                return 202, {}, {}
            if release is not None:
                release.wait(5)
            return 200, {"ETag": '"cal_1"', "Cache-Control": CACHE_CONTROL}, {**threshold_body("cal_1"), "rollout": None, "shadows": shadows}

        stub.handler = handler
        return stub

    def test_names_what_shadow_reports_for_from_the_shared_table(self) -> None:
        stub = self.stub(self.SERVED)
        client = Client(stub.url, "t", background=False)
        self.addCleanup(client.close)
        client.get_threshold(GATE, None)
        for key, index_version, taken in self.SAMPLING["cases"]:
            named = client.shadows_for(GATE, key, index_version=index_version)
            self.assertEqual([s["calibration_id"] for s in named], taken, (key, index_version))
            self.assertEqual(client.shadow([{"score": 0.9}, {"score": 0.5}], GATE, key=key, index_version=index_version), taken)
        named = client.shadows_for(GATE, self.SAMPLING["cases"][1][0])
        self.assertEqual(named[1], self.SERVED[3])
        named[1]["sample_rate"] = 0  # a copy: the cache keeps its own
        self.assertEqual(len(client.shadows_for(GATE, self.SAMPLING["cases"][1][0])), 2)
        self.assertEqual(len(stub.threshold_requests()), 1)

    def test_sync_cold_cache_answers_none_at_once_and_starts_one_request(self) -> None:
        release = threading.Event()
        stub = self.stub([{**self.SERVED[0], "sample_rate": 1}], release)
        client = Client(stub.url, "t", background=False)
        self.addCleanup(client.close)
        # the server holds its answer until released: a call that waited for it would come back with the shadow
        self.assertEqual(client.shadows_for(GATE, "session-1"), [])
        self.assertEqual(client.shadows_for(GATE, "session-1"), [])
        self.assertFalse(release.is_set())
        release.set()
        self.assertTrue(wait_until(lambda: len(client.shadows_for(GATE, "session-1")) == 1))
        self.assertEqual(len(stub.threshold_requests()), 1)

    def test_async_cold_cache_answers_none_at_once_and_starts_one_request(self) -> None:
        release = threading.Event()
        stub = self.stub([{**self.SERVED[0], "sample_rate": 1}], release)

        async def main() -> None:
            client = AsyncClient(stub.url, "t", background=False)
            try:
                self.assertEqual(client.shadows_for(GATE, "session-1"), [])
                self.assertFalse(release.is_set())
                release.set()
                for _ in range(300):
                    if client.shadows_for(GATE, "session-1"):
                        break
                    await asyncio.sleep(0.01)
                self.assertEqual([s["calibration_id"] for s in client.shadows_for(GATE, "session-1")], ["cal_0000000003"])
            finally:
                await client.close()

        asyncio.run(main())
        self.assertEqual(len(stub.threshold_requests()), 1)

    def test_uncalibrated_gate_and_server_without_shadows_answer_none(self) -> None:
        uncalibrated = StubServer()
        self.addCleanup(uncalibrated.close)
        uncalibrated.handler = lambda m, p, h, b: error(404, "uncalibrated")
        for url in (uncalibrated.url, self.stub([]).url):
            client = Client(url, "t", background=False)
            self.addCleanup(client.close)
            client.get_threshold(GATE, None)
            self.assertEqual(client.shadows_for(GATE, "session-1"), [])


if __name__ == "__main__":
    unittest.main()
