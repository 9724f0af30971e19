"""Test helpers: a programmable local HTTP server, a fake clock and a polling wait."""

from __future__ import annotations

import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple

Reply = Tuple[int, Dict[str, str], Any]


class StubServer:
    """Answers every request with ``handler(method, path, headers, body) -> (status, headers, body)``; records requests."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.handler: Callable[[str, str, Dict[str, str], Any], Reply] = lambda m, p, h, b: (500, {}, None)
        self.delay = 0.0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                headers = {k: v for k, v in self.headers.items()}
                stub.requests.append({"method": self.command, "path": self.path, "headers": headers, "body": body})
                if stub.delay:
                    time.sleep(stub.delay)
                status, out_headers, out = stub.handler(self.command, self.path, headers, body)
                data = b"" if out is None or status == 304 else json.dumps(out).encode()
                try:
                    self.send_response(status)
                    for k, v in out_headers.items():
                        self.send_header(k, v)
                    if status != 304:
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if data:
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def threshold_requests(self) -> List[Dict[str, Any]]:
        return [r for r in self.requests if r["path"].startswith("/v1/threshold")]


class OpenerAnswer:
    """What urllib's opener returns for a 2xx answer (for tests that pass the client an ``opener``)."""

    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes):
        self.status, self.headers, self._body = status, headers, body

    def read(self) -> bytes:
        return self._body

    def __enter__(self) -> "OpenerAnswer":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def wait_until(cond: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


CACHE_CONTROL = "private, max-age=5, stale-while-revalidate=60, stale-if-error=86400"


def threshold_body(calibration_id: str = "cal_0000000000aa", threshold: Optional[float] = 0.42) -> Dict[str, Any]:
    return {
        "index": "docs",
        "embedding": "e5",
        "reranker": "bge",
        "threshold": threshold,
        "calibration_id": calibration_id,
        "index_version": "v1",
        "policy": {"kind": "drop_rate", "target": 0.2},
        "score_scale": "unbounded",
        "expected_drop_rate": 0.2,
        "fitted_at": "2026-12-01T00:00:00.000Z",
        "activated_at": "2026-12-01T00:00:00.000Z",
    }


def ok(calibration_id: str = "cal_0000000000aa", threshold: Optional[float] = 0.42) -> Reply:
    return 200, {"ETag": f'"{calibration_id}"', "Cache-Control": CACHE_CONTROL}, threshold_body(calibration_id, threshold)


def error(status: int, code: str, headers: Optional[Dict[str, str]] = None) -> Reply:
    return status, headers or {}, {"error": {"code": code, "message": f"stub {code}"}}
