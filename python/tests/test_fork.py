"""A client made before ``os.fork()`` (gunicorn's ``--preload``, uWSGI without lazy-apps) works in each child: its own
batch ids (the server counts the first body of an id and refuses the others, so siblings sharing the parent's would
lose most of their observations), none of the parent's queued counts (the parent sends them), and a flush thread that
runs in the child."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import unittest
import warnings
from typing import Any, Dict

from scoregate import AsyncClient, Client
from support import StubServer, ok


def in_child(work: Any) -> Dict[str, Any]:
    """Runs ``work()`` in a forked child and returns what it returned (as JSON through a pipe)."""
    r, w = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns on fork() in a process with threads (the stub server's, the client's): the case under test
        warnings.filterwarnings("ignore", message=".*use of fork\\(\\) may lead to deadlocks", category=DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: report and leave without running the parent's test machinery
        os.close(r)
        try:
            out = json.dumps(work()).encode()
        except BaseException as e:  # noqa: BLE001 - anything the child met goes back to the parent
            out = json.dumps({"error": repr(e)}).encode()
        os.write(w, out)
        os.close(w)
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data)  # type: ignore[no-any-return]


@unittest.skipUnless(hasattr(os, "fork") and sys.platform != "darwin", "os.fork is POSIX (and unsafe with threads on macOS)")
class ForkTests(unittest.TestCase):
    def setUp(self) -> None:
        self.stub = StubServer()
        self.stub.handler = lambda m, p, h, b: ok() if p.startswith("/v1/threshold") else (202, {}, {"accepted": True, "duplicate": False})
        self.addCleanup(self.stub.close)

    def test_each_child_sends_its_own_batches_and_not_the_parents_queue(self) -> None:
        c = Client(self.stub.url, "t", background=False)
        self.addCleanup(c.close)
        c.report(5, 1, calibration_id="cal_0000000000aa")  # queued in the parent, before the fork
        parent_id = c._queue._client_id

        def child() -> Dict[str, Any]:
            queued_at_start = c.observation_stats().queued
            c.report(3, 1, calibration_id="cal_0000000000aa")
            r = c.flush()
            return {"id": c._queue._client_id, "queued_at_start": queued_at_start, "sent": r.sent_batches}

        first, second = in_child(child), in_child(child)
        self.assertNotIn("error", first)
        self.assertEqual((first["queued_at_start"], first["sent"]), (0, 1))
        self.assertNotEqual(first["id"], parent_id)
        self.assertNotEqual(first["id"], second["id"])
        # the children's batches reached the server under ids of their own, each with its own query only
        bodies = [r["body"] for r in self.stub.requests if r["path"] == "/v1/observations" and r["body"]["queries"] == [[3, 1]]]
        self.assertEqual(len({b["batch_id"] for b in bodies}), 2)
        # the parent still holds and sends its own query
        self.assertEqual(c.flush().sent_batches, 1)

    def test_the_flush_thread_runs_in_a_child(self) -> None:
        c = Client(self.stub.url, "t", flush_interval=0.05)
        self.addCleanup(c.close)
        c.report(5, 1, calibration_id="cal_0000000000aa")  # starts the parent's flush thread

        def child() -> Dict[str, Any]:
            c.report(4, 2, calibration_id="cal_0000000000aa")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and c.observation_stats().sent == 0:
                time.sleep(0.02)
            return {"sent": c.observation_stats().sent}

        self.assertEqual(in_child(child), {"sent": 1})

    def test_an_async_client_answers_in_a_child(self) -> None:
        c = AsyncClient(self.stub.url, "t", background=False)

        async def warm() -> None:
            await c.get_threshold({"embedding": "e5", "reranker": "bge", "index": "docs"}, fallback=0.1)

        asyncio.run(warm())

        def child() -> Dict[str, Any]:
            async def read() -> Any:
                return await c.get_threshold({"embedding": "e5", "reranker": "bge", "index": "cold"}, fallback=0.1)

            return {"reason": asyncio.run(read()).reason}

        self.assertEqual(in_child(child), {"reason": "calibrated"})
        asyncio.run(c.close())


if __name__ == "__main__":
    unittest.main()
