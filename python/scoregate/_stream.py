"""Pushed changes for both clients: one daemon thread per streamed gate reads GET /v1/events (Server-Sent Events) with
urllib and hands each event to the threshold cache, which applies it as a 200 with its ETag would. The rules are the
TypeScript SDK's (packages/client/src/gate-stream.ts and stream.ts; docs/clients.md, "Pushed changes"):

* events are applied in order and exactly once: ``seq <= last`` is dropped; an event whose ``prev_seq`` is not the last
  seq (or a heartbeat whose ``head_seq`` is ahead) is a gap, and the stream reconnects with ``Last-Event-ID: last`` so
  the server replays what was missed, or sends a snapshot (applied whatever its ``prev_seq`` and its seq);
* the server's seq going back (a snapshot, or a heartbeat's ``head_seq``, below the last seq) means its event history
  restarted (a reset local state, a restored database): ``on_restart(last_seq, head_seq)`` is told, the stream forgets
  its position and takes the server's current state (a heartbeat's: it reconnects at once without ``Last-Event-ID``,
  so the server sends its snapshot; not counted as a failure);
* no byte for ``read_timeout`` seconds (three heartbeats) is a dead connection: reconnect with exponential backoff
  (1 s doubling to 30 s, half of it random), reset after 60 s connected, never sooner than the answer's
  ``Retry-After``; the server's ``retry:`` field (milliseconds) replaces the backoff's first delay for that stream;
* 404, 429 and 501, or ``max_failures`` failures within ``failure_window`` seconds, switch the gate to polling, and the
  stream is tried again every ``recovery`` seconds (after a 404, 429 or 501, or its ``Retry-After`` if that is later);
  after failures, a poll the server answers (``polled()``: the server is up again) brings the try sooner, a first
  backoff delay later; a failed try goes back to polling at once, and the wait before the next doubles from
  ``backoff_initial`` up to ``recovery`` (never shorter than a ``Retry-After``), until a connection stays up
  ``reset_after``; 401 and 403 stop it;
* nothing ends the thread but ``close()``: a listener that raises is logged and taken for a failed connection (the
  stream resumes after the event it was handed), and once closed the stream stays ``stopped``.

The stream's thread never touches the caller's event loop: the cache it writes is guarded by a lock, so the asyncio
client reads the same entries.
"""

from __future__ import annotations

import logging
import math
import numbers
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional

from . import _http

log = logging.getLogger("scoregate")

#: Path of the pushed changes of a gate named by index, embedding and reranker.
EVENTS_PATH = "/v1/events"
#: HTTP statuses that switch a stream to polling at once.
FALLBACK_STATUSES = (404, 429, 501)
#: The reason a stream reconnects after the server's event history went back (the TypeScript SDK's HISTORY_RESTARTED).
HISTORY_RESTARTED = "the server's event history restarted"
#: The reason a stream polling after ``max_failures`` failures tries again before ``recovery`` is up (``polled()``; the
#: TypeScript SDK's POLL_ANSWERED).
POLL_ANSWERED = "the server answered a poll: trying the stream again"


@dataclass
class StreamOptions:
    """Tuning of pushed changes (seconds); the defaults are the TypeScript SDK's."""

    max_gates: int = 20
    read_timeout: float = 45.0
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    reset_after: float = 60.0
    max_failures: int = 5
    failure_window: float = 60.0
    recovery: float = 300.0


def check_number(name: str, value: Any, least: float, most: float) -> None:
    """ValueError unless ``value`` is a number (not a bool, not a string) from ``least`` to ``most``: a string from an
    environment variable, or NaN, would otherwise fail later in a thread, where nobody sees it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not least <= value <= most:
        bound = f"from {least} to {most}" if most < math.inf else f"of at least {least}"
        raise ValueError(f"scoregate: {name} must be a number {bound}, not {value!r}")


def options_of(stream: Any) -> Optional[StreamOptions]:
    """``stream=True`` or a mapping of StreamOptions fields (a field None: its default); None when streaming is off.
    Each field is checked as the client's own options are (a ValueError naming it)."""
    if stream is None or stream is False:
        return None
    if stream is True:
        return StreamOptions()
    if isinstance(stream, StreamOptions):
        o = stream
    elif isinstance(stream, Mapping):
        o = StreamOptions(**{k: v for k, v in stream.items() if v is not None})
    else:
        raise TypeError("scoregate: stream must be True, False or a mapping of stream options")
    for name in ("read_timeout", "backoff_initial", "backoff_max", "reset_after", "failure_window", "recovery"):
        check_number(f"stream {name}", getattr(o, name), 0.001, MAX_DELAY_SECONDS)
    for name in ("max_gates", "max_failures"):
        check_number(f"stream {name}", getattr(o, name), 1, math.inf)
    return o


#: The longest delay (seconds) a backoff, flush interval or stream wait may be: the TypeScript client's timer range.
MAX_DELAY_SECONDS = (2**31 - 1) / 1000


class SseParser:
    """The ``text/event-stream`` grammar (WHATWG HTML, "Server-sent events"), fed one decoded line at a time:
    ``data:`` lines join with a newline, a blank line dispatches, ``:`` starts a comment, ``retry:`` (ASCII digits
    only) is handed to ``on_retry`` in milliseconds. Written here because the
    package uses the standard library only."""

    def __init__(self, on_frame: Callable[[str, str, Optional[str]], None], on_retry: Callable[[int], None] = lambda ms: None):
        self._on_frame = on_frame
        self._on_retry = on_retry
        self._event = ""
        self._data: List[str] = []
        self._id: Optional[str] = None

    def line(self, line: str) -> None:
        line = line.rstrip("\r\n")
        if line == "":
            if self._data:
                self._on_frame(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data, self._id = "", [], None
            return
        if line.startswith(":"):
            return
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id" and "\0" not in value:
            self._id = value
        elif field == "retry" and re.fullmatch("[0-9]+", value):
            self._on_retry(int(value))


class _Resume(Exception):
    """A gap: the stream must reconnect from its last seq at once."""


class _Restart(_Resume):
    """A restarted history: the stream reconnects at once without a position, and it is no failure."""


class GateStream:
    """One gate's subscription on a daemon thread. ``on_event(event, snapshot)`` gets each event once, in order
    (``snapshot``: the server's current state, sent at connect or when it cannot replay what was missed);
    ``on_heartbeat(head_seq)`` each heartbeat of a healthy stream; ``on_restart(last_seq, head_seq)`` when the server's
    event history restarted (its seq went back below ``last_seq``; the new history's state comes next as a snapshot);
    ``on_state(state, reason)`` each change of state (``open``, ``reconnecting``, ``polling``, ``stopped``)."""

    def __init__(
        self,
        url: str,
        headers: Callable[[], Dict[str, str]],
        options: StreamOptions,
        *,
        on_event: Callable[[Dict[str, Any], bool], None],
        on_heartbeat: Callable[[int], None] = lambda head: None,
        on_restart: Callable[[int, int], None] = lambda last, head: None,
        on_state: Callable[[str, str], None] = lambda s, r: None,
        clock: Callable[[], float],
        rng: Callable[[], float],
        after: Optional[int] = None,
    ):
        self.url = url
        self._headers = headers
        self._o = options
        self._on_event = on_event
        self._on_heartbeat = on_heartbeat
        self._on_restart = on_restart
        self._on_state = on_state
        self._now = clock
        self._rng = rng
        self.last: Optional[int] = after
        self.state: Optional[str] = None
        #: the backoff's first delay (seconds): the options' until the server sends a ``retry:`` field
        self._backoff_initial = options.backoff_initial
        self._stop = threading.Event()
        #: orders state changes against close(), so a failure seen as close() runs cannot announce itself after ``stopped``
        self._state_lock = threading.Lock()
        self._response: Any = None
        #: wakes the thread while it polls: close(), or a poll the server answered (``polled()``)
        self._wake = threading.Condition()
        #: set by polled(): the thread, polling, tries the stream now
        self._try_now = False
        #: while the thread polls after failures: from when (``clock``) an answered poll brings a try; None otherwise
        self._try_from: Optional[float] = None
        #: since a fall back on failures, until a connection stays up ``reset_after``: a failure sends it back to polling
        #: at once (a stream that keeps failing while polls succeed is not reconnected over and over)
        self._trial = False
        #: failed tries from polling in a row: the wait before the next doubles with each, up to ``recovery``
        self._tries = 0
        self._thread = threading.Thread(target=self._run, name="scoregate-stream", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        self._drop()
        self._set("stopped", "closed")

    def polled(self) -> bool:
        """The server answered a poll of the gate (the clients call this after each answered poll). A stream polling
        since ``max_failures`` failures takes it for the server being up again and tries the stream after the first
        backoff delay (half to all of ``backoff_initial``, so a fleet polling a restarted server does not reconnect at
        once) instead of waiting out ``recovery``: once, and after a failed try only when the wait before the next is
        up. Does nothing otherwise (open, reconnecting, a try under way, or polling on a 404, 429 or 501, which keeps
        its ``recovery`` or ``Retry-After``). Returns whether a try was set."""
        with self._wake:
            if self._stop.is_set() or self._try_now or self._try_from is None or self._now() < self._try_from:
                return False
            self._try_from = None
            self._try_now = True
            self._wake.notify_all()
            return True

    def drop(self) -> None:
        """Drops the connection as a network failure would: the stream reconnects and resumes."""
        self._drop()

    def _drop(self) -> None:
        r = self._response
        if r is not None:
            try:
                # shutting the socket down wakes the blocked read at once (closing the response alone may not)
                r.fp.raw._sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
            except Exception:
                try:
                    r.close()
                except Exception:
                    pass

    def _set(self, state: str, reason: str) -> None:
        with self._state_lock:
            if self.state == "stopped" or (self._stop.is_set() and state != "stopped"):
                return
            self.state = state
        try:
            self._on_state(state, reason)
        except Exception:
            log.exception("scoregate: stream state listener failed")

    def _run(self) -> None:
        failures: List[float] = []
        consecutive = 0
        while not self._stop.is_set():
            opened_at: Optional[float] = None
            status: Optional[int] = None
            retry_after: Optional[float] = None
            gap = restarted = False
            try:
                headers = {**self._headers(), "Accept": "text/event-stream", "Cache-Control": "no-store"}
                if self.last is not None:
                    headers["Last-Event-ID"] = str(self.last)
                request = urllib.request.Request(self.url, headers=headers)
                # the clients' opener: a redirect is followed within the origin only, so the token never leaves it
                with _http.default_opener()(request, timeout=self._o.read_timeout) as response:
                    self._response = response
                    if not (response.headers.get("Content-Type") or "").startswith("text/event-stream"):
                        retry_after = _http.parse_retry_after(response.headers.get("Retry-After"), self._now())
                        raise OSError("the answer is not an event stream")
                    opened_at = self._now()
                    self._set("open", "connected" if self.last is None else f"resumed after {self.last}")
                    self._read(response)
                reason = "the server closed the stream"
            except _Restart as r:
                reason, restarted = str(r), True
            except _Resume as r:
                reason, gap = str(r), True
            except urllib.error.HTTPError as e:
                status, reason = e.code, f"{e.code}{_server_said(e)}"
                retry_after = _http.parse_retry_after((e.headers or {}).get("Retry-After"), self._now())
                e.close()
            except (OSError, ValueError) as e:
                reason = f"{type(e).__name__}: {e}"
            except Exception as e:  # a listener's bug: the thread must outlive it
                log.exception("scoregate: stream listener failed")
                reason = f"{type(e).__name__} in a listener: {e}"
            finally:
                self._response = None
            if self._stop.is_set():
                return
            if status in (401, 403):
                self._set("stopped", f"{status}: the token is refused")
                return
            now = self._now()
            if status in FALLBACK_STATUSES:
                failures, consecutive = [], 0
                self._poll(f"{reason}: polling instead", retry_after, failed=False)
                continue
            # a connection that stayed up reset_after ends the failures and a try from polling, whatever ended it (as
            # the TypeScript client: a history restart included)
            if opened_at is not None and now - opened_at >= self._o.reset_after:
                failures, consecutive = [], 0
                self._trial, self._tries = False, 0
            if restarted:
                # the connection was fine, the position was not: fetch the new history's state at once
                self._set("reconnecting", reason)
                continue
            if self._trial and not reason.startswith("gap"):
                # a try from polling failed: back to polling, the next try waits twice as long
                self._tries += 1
                failures, consecutive = [], 0
                self._poll(reason, retry_after, failed=True)
                continue
            failures = [t for t in failures if now - t < self._o.failure_window] + [now]
            if len(failures) >= self._o.max_failures:
                failures, consecutive = [], 0
                self._poll(reason, retry_after, failed=True)
                continue
            consecutive += 1
            self._set("reconnecting", reason)
            if not gap:
                self._stop.wait(_http.backoff_delay(self._backoff_initial, self._o.backoff_max, consecutive, self._rng(), retry_after))

    def _poll(self, reason: str, retry_after: Optional[float], failed: bool) -> None:
        """Polls (state ``polling``) until the stream is tried again: after ``recovery`` seconds (or ``Retry-After``,
        when later); after failures (``failed``) sooner, when a poll the server answered asks for it (``polled()``)."""
        with self._wake:
            self._try_now = False
            self._try_from = None
            if failed:
                self._trial = True
                wait = 0.0 if self._tries == 0 else min(self._o.recovery, self._backoff_initial * 2 ** min(self._tries - 1, 60))
                self._try_from = self._now() + max(wait, retry_after or 0.0)
        self._set("polling", reason)
        with self._wake:
            self._wake.wait_for(lambda: self._stop.is_set() or self._try_now, max(self._o.recovery, retry_after or 0.0))
            asked, self._try_now, self._try_from = self._try_now, False, None
        if asked and not self._stop.is_set():
            self._set("reconnecting", POLL_ANSWERED)
            self._stop.wait(_http.backoff_delay(self._backoff_initial, self._o.backoff_max, 1, self._rng(), None))

    def _read(self, response: Any) -> None:
        parser = SseParser(self._frame, self._retry)
        while not self._stop.is_set():
            raw = response.readline()
            if not raw:
                return
            parser.line(raw.decode("utf-8"))

    def _retry(self, ms: int) -> None:
        """The server's ``retry:`` field: its reconnection time becomes the backoff's first delay (at least 1 ms), as
        the TypeScript SDK does; the backoff still doubles from it up to ``backoff_max``."""
        self._backoff_initial = max(ms, 1) / 1000

    def _frame(self, event: str, data: str, _id: Optional[str]) -> None:
        try:
            body = _http.loads_json(data)
        except ValueError:
            raise _Resume(f"unreadable {event} frame") from None
        if not isinstance(body, dict):
            # [1, 2], 5 or null: not an event of this API (an AttributeError below would read as a listener's bug)
            raise _Resume(f"unreadable {event} frame")
        if event == "heartbeat":
            head = body.get("head_seq")
            if isinstance(head, int) and head > (self.last or 0):
                raise _Resume(f"gap: the gate is at {head}, this stream at {self.last or 0}")
            if isinstance(head, int) and self.last is not None and head < self.last:
                last, self.last = self.last, None
                self._restarted(last, head)
                raise _Restart(f"{HISTORY_RESTARTED}: the gate is at {head}, this stream was at {last}")
            self._on_heartbeat(head if isinstance(head, int) else 0)
            return
        if event not in ("gate", "snapshot"):
            return
        seq, prev = body.get("seq"), body.get("prev_seq")
        if body.get("v") != 1 or not isinstance(seq, int) or not isinstance(prev, int):
            raise _Resume(f"unknown event version {body.get('v')!r}")
        snapshot = event == "snapshot"
        # a snapshot is the server's whole state: applied whatever its seq; one below the last seq starts a new history
        if snapshot and self.last is not None and seq < self.last:
            self._restarted(self.last, seq)
        elif not snapshot and self.last is not None and seq <= self.last:
            return
        if not snapshot and self.last is not None and prev != self.last:
            raise _Resume(f"gap: event {seq} follows {prev}, this stream is at {self.last}")
        self.last = seq
        self._on_event(body, snapshot)


    def _restarted(self, last: int, head: int) -> None:
        try:
            self._on_restart(last, head)
        except Exception:
            log.exception("scoregate: stream restart listener failed")


def events_url(base_url: str, index: Optional[str], embedding: str, reranker: str) -> str:
    params = {"index": index, "embedding": embedding, "reranker": reranker}
    return f"{base_url}{EVENTS_PATH}?{urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})}"


def _server_said(e: "urllib.error.HTTPError") -> str:
    """' not_found: gate ... does not exist ...' from a JSON error body (at most 64 KiB read); '' otherwise."""
    try:
        if "json" not in (e.headers.get("content-type") or ""):
            return ""
        code, message = _http.server_words(_http.loads_json(e.read(65536).decode("utf-8")))
        said = "" if code is None else f" {code}"
        return said if message is None else f"{said}: {message}"
    except (OSError, ValueError):
        return ""
