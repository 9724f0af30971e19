"""``Client``: the scoregate client for threaded Python services (Flask, Django, workers); thread-safe, standard
library only. ``AsyncClient`` (scoregate.aio) is the asyncio twin. Both share the cache, reasons and observation
batching (docs/clients.md, "Python"):

* ``get_threshold`` answers from memory within the server's ``max-age`` (``cached``), past it at once (``stale``)
  while one background revalidation with ``If-None-Match`` runs or the server fails, and waits (at most ``timeout``
  seconds) only when it holds nothing for the gate (``calibrated``, else the caller's ``fallback``, or
  ``uncalibrated``);
* failures back off exponentially with jitter and honour ``Retry-After``; a 401/403 stops all requests and is kept
  in ``client.auth_error``;
* the hot path never raises: any failure becomes a fallback answer with ``error`` set.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from . import _http
from ._base import REQUIRED, ClientBase, gate_candidates
from ._thresholds import Outcome, Plan, fallback_result
from ._types import BadGate, ClientError, FlushResult, GateLike, GateResult, ThresholdResult, as_gate

log = logging.getLogger("scoregate")

#: The most requests one ``Client`` runs at once (threshold revalidations and observation batches together). Each
#: holds a daemon thread until its request ends (a threshold request a second one, which waits for it until its
#: deadline). A request is aborted at its deadline, but a name lookup cannot be, and a service that reads many gates
#: while its scoregate hangs starts a request per gate every ``timeout``: past this many, a read that would start one
#: answers at once instead (its fallback, or the value it holds), with error ``overloaded``, and an observation batch
#: stays queued for a later try. Nothing blocks and nothing raises; the next read tries again once a request ended.
MAX_REQUEST_THREADS = 64


class RequestSlots:
    """Counts the requests a ``Client`` runs, at most ``limit``: ``take`` hands out a slot, or None when all are taken.
    A slot is free again once each of its ``holders`` (the threads a request keeps) has released it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._taken = 0

    @property
    def taken(self) -> int:
        """The requests running now (health checks and tests)."""
        with self._lock:
            return self._taken

    def take(self, holders: int = 1) -> Optional[Callable[[], None]]:
        """A slot's release function (call it once per holder), or None when ``limit`` requests are running."""
        with self._lock:
            if self._taken >= self.limit:
                return None
            self._taken += 1
        left = [holders]

        def release() -> None:
            with self._lock:
                left[0] -= 1
                if left[0] == 0:
                    self._taken -= 1

        return release


def overloaded(limit: int) -> ClientError:
    """Why a request was not started: ``limit`` requests are running (the server is slow, or a name lookup hangs)."""
    return ClientError(
        "overloaded", f"{limit} requests already running (MAX_REQUEST_THREADS): not sent; the server is slow or unreachable"
    )


class Client(ClientBase):
    """``Client(base_url, token)``; one per process is enough (it is thread-safe). Requests run in daemon threads;
    observations are flushed by one background thread every ``flush_interval`` seconds (``background=False`` leaves
    that to ``flush()``)."""

    def _init_io(self) -> None:
        #: the requests running, each in threads of its own: at most MAX_REQUEST_THREADS
        self._slots = RequestSlots(MAX_REQUEST_THREADS)
        self._stop = threading.Event()
        #: set by a report that fills a batch (sent at once) and by close()
        self._wake = threading.Event()
        self._flusher: Optional[threading.Thread] = None
        self._start_lock = threading.Lock()

    def _new_flight(self) -> threading.Event:
        return threading.Event()

    # -- thresholds -----------------------------------------------------------------------------------------------

    def get_threshold(
        self,
        gate: GateLike = REQUIRED,
        fallback: Optional[float] = REQUIRED,
        *,
        timeout: Optional[float] = None,
        assignment_key: Optional[str] = None,
    ) -> ThresholdResult:
        """The gate's threshold; never raises (a gate without ``embedding`` and ``reranker`` strings, or none, answers
        the fallback with a ``bad_request`` error). ``fallback`` (required; None keeps everything, and so does a value that
        is not a real number or a call without one) is used until a first answer arrives and when the gate is uncalibrated. ``timeout``
        bounds this call's wait when nothing is held (seconds, 0 or more; any other value is read as the client's
        ``timeout`` and logged once)."""
        if fallback is REQUIRED:
            fallback = None
        try:
            wait = self._wait_of(timeout)
            try:
                g = as_gate(gate)
            except BadGate:
                return self._bad_gate(fallback)
            self._watch(g)
            plan = self._cache.plan(g, fallback, assignment_key)
            refused = self._begin(plan) if plan.start else None
            if plan.answer is not None:
                return plan.answer
            if refused is not None:
                return fallback_result(fallback, False, refused)
            # wait at most this caller's own deadline (the shared request has its own timeout)
            if not plan.flight.wait(wait):
                return fallback_result(fallback, False, ClientError("timeout", f"no answer within {wait} s"))
            return self._cache.after_wait(plan.entry, fallback, assignment_key)
        except Exception as e:  # the hot path must never raise
            log.exception("scoregate: unexpected failure in get_threshold")
            return fallback_result(fallback, False, ClientError("internal", f"{type(e).__name__}: {e}"))

    def _begin(self, plan: Plan) -> Optional[ClientError]:
        """Starts the plan's request in a thread, unless ``MAX_REQUEST_THREADS`` requests are running (or no thread can
        be started): the claim is then given back untouched (no failure, no backoff, no event) and the error says why."""
        release = self._slots.take(holders=2)  # this thread and the request's own
        if release is not None:
            try:
                threading.Thread(target=self._refresh, args=(plan, release), name="scoregate-refresh", daemon=True).start()
                return None
            except RuntimeError as e:  # "can't start new thread": the process is out of threads
                release()
                release()
                refused = ClientError("overloaded", f"no request thread could be started: {e}")
        else:
            refused = overloaded(self._slots.limit)
            self._misuse(
                f"{self._slots.limit} requests are running (MAX_REQUEST_THREADS): reads that would start another answer "
                "at once with error overloaded until one ends"
            )
        self._cache.abandon(plan)
        plan.flight.set()  # a caller that joined meanwhile stops waiting
        return refused

    def _refresh(self, plan: Plan, release: Callable[[], None]) -> None:
        try:
            self._cache.settle(plan, self._send("GET", plan.url, plan.headers or {}, None, release=release))
            self._polled(plan)
        finally:
            plan.flight.set()
            release()

    def _send(
        self,
        method: str,
        url: str,
        headers: Dict[str, str],
        body: Optional[bytes],
        abort: Optional[_http.Abort] = None,
        release: Optional[Callable[[], None]] = None,
    ) -> Outcome:
        """One request with a total deadline, as the TypeScript client's ``timeoutMs``: it runs in a daemon thread of its
        own, and past ``timeout`` seconds (connect, headers and body, whether they drip in slowly or not) the answer is a
        ``timeout`` error, whatever the thread is doing. The request is then aborted (its socket shut down), so the
        thread ends soon after; what it gets is dropped (a name lookup cannot be interrupted: it ends when it ends).
        The thread holds a request slot (``release``, taken here when the caller holds none) until it ends: past
        ``MAX_REQUEST_THREADS`` running requests the outcome is an ``overloaded`` error, at once."""
        if release is None:
            release = self._slots.take()
            if release is None:
                return overloaded(self._slots.limit)
        box: List[Outcome] = []
        done = threading.Event()
        abort = abort or _http.Abort()

        def run() -> None:
            try:
                box.append(ClientBase._send(self, method, url, headers, body, abort))
            except BaseException as e:  # _send returns outcomes; anything else is an internal error
                box.append(ClientError("internal", f"{type(e).__name__}: {e}"))
            finally:
                done.set()
                release()

        try:
            threading.Thread(target=run, name="scoregate-request", daemon=True).start()
        except RuntimeError as e:  # "can't start new thread"
            release()
            return ClientError("overloaded", f"no request thread could be started: {e}")
        if done.wait(self._timeout) and box:
            return box[0]
        abort.abort()
        return _http.timeout_error(self._timeout)

    def gate(
        self,
        candidates: Iterable[Any],
        gate: GateLike = REQUIRED,
        *,
        fallback: Optional[float] = REQUIRED,
        score: Union[str, Callable[[Any], Optional[float]]] = "score",
        unscored: str = "keep",
        report: bool = True,
        report_scores: bool = False,
        timeout: Optional[float] = None,
        assignment_key: Optional[str] = None,
        served: Optional[ThresholdResult] = None,
    ) -> GateResult:
        """Keeps candidates with ``score >= threshold`` (None keeps all) within the served guards (at least the top
        ``min_keep``, at most ``max_keep``) and keeps none when the query's top score is below ``abstain_below``
        (``abstain=True``, with ``abstain_reason``). ``score`` is a key (dicts, attributes) or a function. Reports the
        query's counts when a calibration produced the threshold. ``candidates`` is any iterable (a generator is read
        once). Never raises: a failure of the server or the network, candidates that are none (None, a str or bytes,
        a mapping such as the reranker's whole response, anything not iterable: none kept and the fallback with a
        ``bad_request`` error, nothing reported), a gate without ``embedding`` and ``reranker`` strings (the fallback
        with a ``bad_request`` error) and an ``unscored`` other than "keep" or "drop" (read as "keep") become answers,
        each mistake logged once. ``served``: the ThresholdResult of the ``get_threshold`` whose ``index_version`` the
        candidates were retrieved from; ``gate()`` then applies it (and reports the query under its calibration and
        promotion arm) instead of reading the threshold again, which a promotion step or a rollback in between could
        change. A ``served`` that is not a ThresholdResult answers the fallback with a ``bad_request`` error."""
        candidates, bad = gate_candidates(candidates)
        mode = self._unscored_mode(unscored)
        if bad is not None:
            t = self._bad_candidates(bad, fallback, "gate")
        elif served is not None:
            t = self._served(served, fallback)
        else:
            t = self.get_threshold(gate, fallback, timeout=timeout, assignment_key=assignment_key)
        return self._gate_result(candidates, t, self._partition(candidates, t, score, mode, report_scores), report)

    def shadow(
        self,
        candidates: Iterable[Any],
        gate: GateLike,
        *,
        key: str,
        score: Union[str, Callable[[Any], Optional[float]]] = "score",
        index_version: Optional[str] = None,
    ) -> List[str]:
        """Shadow evaluation of one mirrored query (the candidates the new index version returned): each shadow of the
        gate whose sample takes ``key`` gets the query's counts with ``role: "shadow"``. Never raises; returns the
        shadow calibration ids it reported for."""
        try:
            # any iterable, read once: each shadow gates the same candidates
            candidates, bad = gate_candidates(candidates)
            if bad is not None:
                self._bad_candidates(bad, None, "shadow")
                return []
            try:
                g = as_gate(gate)
            except BadGate:
                self._bad_gate(None)
                return []
            self.get_threshold(g, None)
            return self._shadow(candidates, g, key, score, index_version)
        except Exception:
            log.exception("scoregate: unexpected failure in shadow")
            return []

    # -- observations ---------------------------------------------------------------------------------------------

    def _after_report(self, sealed: bool) -> None:
        if not self._background:
            return
        if self._flusher is not None:
            if sealed:
                self._wake.set()
            return
        with self._start_lock:
            if self._flusher is None and not self._queue.closed:
                self._flusher = threading.Thread(target=self._flush_loop, name="scoregate-flush", daemon=True)
                self._flusher.start()

    def _flush_loop(self) -> None:
        while True:
            due = self._queue.next_due_at()
            wait = self._flush_interval if due is None else min(self._flush_interval, max(0.05, due - self._now()))
            self._wake.wait(wait)
            self._wake.clear()
            if self._stop.is_set():
                return
            self._drive(force=False)

    def flush(self) -> FlushResult:
        """Sends every queued observation now (one attempt per batch, up to a timeout, a slow failure or a second unanswered batch in a row; failures
        stay queued for a retry with the same batch id, so the server counts a batch once)."""
        return self._flush(self._now())

    def _flush(self, since: float) -> FlushResult:
        """``flush()``, trying nothing more when a send that stopped slowly after ``since`` was waited for."""
        sent, failed = self._drive(force=True, since=since)
        return FlushResult(sent, failed, self.observation_stats())

    def _drive(self, force: bool, since: Optional[float] = None) -> Tuple[int, int]:
        """One send at a time: waits for the running one unless it is lost (``ObservationQueue.claim``)."""
        token = self._queue.claim_waiting()
        gen = self._queue.sending(force, token, since)
        try:
            body = next(gen)
            while True:
                body = gen.send(self._post_observations(body))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        finally:
            gen.close()
            self._queue.release(token)

    def close(self) -> FlushResult:
        """Flushes once and stops the background thread and any stream; later reports are ignored (and counted)."""
        since = self._now()  # a send the flush thread has on the wire now is waited for, not tried again
        # closed first: a report made while close() flushes is ignored and counted, never left queued after it
        self._queue.closed = True
        self._close_streams()
        self._stop.set()
        self._wake.set()
        with self._start_lock:
            flusher = self._flusher
        if flusher is not None and flusher is not threading.current_thread():
            flusher.join(timeout=self._timeout + 1)
        result = self._flush(since)
        return result

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
