"""``AsyncClient``: the scoregate client for asyncio services (FastAPI, Starlette, aiohttp), standard library only.

It shares the threshold cache, the reasons and the observation batching with ``Client`` (scoregate._thresholds,
scoregate._observations): only the waiting differs. A call that holds a value returns without suspending at all; only
a caller with nothing cached for the gate awaits the shared request, at most its own ``timeout``.

Why threads under asyncio: the standard library has no asyncio HTTP client, and writing one (TLS, proxies from the
environment, chunked bodies, redirects) by hand is a liability; ``urllib`` does all of that. Each request therefore
runs in a small pool of worker threads owned by the client (not the loop's default executor, so a slow scoregate never
starves the application's own ``asyncio.to_thread`` work, and the application's never delays a refresh). The event
loop only ever awaits: it never blocks on the network. Requests are few by construction: one per gate at a time, plus
one observation batch at a time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import Any, Callable, Coroutine, Iterable, List, Optional, Set, Tuple, Union

from . import _http
from ._base import REQUIRED, ClientBase, gate_candidates
from ._observations import SEND_POLL_SECONDS
from ._thresholds import Outcome, Plan, fallback_result
from ._types import BadGate, ClientError, FlushResult, GateLike, GateResult, ThresholdResult, as_gate

log = logging.getLogger("scoregate")

#: Worker threads per client for blocking urllib calls (requests are single-flight per gate, so few run at once).
IO_THREADS = 8


class AsyncClient(ClientBase):
    """``AsyncClient(base_url, token)`` with the same options as ``Client``; create it at start-up, ``await
    client.close()`` at shutdown, or ``async with AsyncClient(...) as client``. It serves one running event loop at a
    time and follows the running loop to a new one (``asyncio.run`` again, a test's loop): see ``_bind``."""

    def _init_io(self) -> None:
        self._executor: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self._executor_lock = threading.Lock()
        self._tasks: Set["asyncio.Task[Any]"] = set()
        # Created on first use inside the running loop: on Python 3.9 it binds to a loop when constructed.
        self._wake: Optional[asyncio.Event] = None
        self._flusher: Optional["asyncio.Task[None]"] = None
        #: the loop the event and the flush task belong to (see _bind); one send at a time is the queue's (claim)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._closing = False

    def _new_flight(self) -> "asyncio.Future[bool]":
        return asyncio.get_running_loop().create_future()

    # -- thresholds -----------------------------------------------------------------------------------------------

    async def get_threshold(
        self,
        gate: GateLike = REQUIRED,
        fallback: Optional[float] = REQUIRED,
        *,
        timeout: Optional[float] = None,
        assignment_key: Optional[str] = None,
    ) -> ThresholdResult:
        """The gate's threshold; never raises, cancellation of the caller excepted (a gate without ``embedding`` and
        ``reranker`` strings, or none, answers the fallback with a ``bad_request`` error). ``fallback`` (required; None
        keeps everything, and so does a value that is not a real number or a call without one) is used until a first answer arrives and when the
        gate is uncalibrated. ``timeout`` bounds this call's wait when nothing is held (seconds, 0 or more; any other
        value is read as the client's ``timeout`` and logged once)."""
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
            if plan.start:
                self._begin(plan)
            if plan.answer is not None:
                return plan.answer
            try:
                # shield: a caller that stops waiting (its deadline, or its own cancellation) leaves the shared
                # request running for the others
                settled = await asyncio.wait_for(asyncio.shield(plan.flight), wait)
            except asyncio.TimeoutError:
                return fallback_result(fallback, False, ClientError("timeout", f"no answer within {wait} s"))
            if settled is False:
                return fallback_result(fallback, False, ClientError("aborted", "the shared request was cancelled before an answer"))
            return self._cache.after_wait(plan.entry, fallback, assignment_key)
        except Exception as e:  # the hot path must never raise
            log.exception("scoregate: unexpected failure in get_threshold")
            return fallback_result(fallback, False, ClientError("internal", f"{type(e).__name__}: {e}"))

    def _begin(self, plan: Plan) -> Optional[ClientError]:
        self._spawn(self._refresh(plan))
        return None

    def _flight_alive(self, flight: "asyncio.Future[bool]") -> bool:
        """A request of another loop (one that ended, perhaps without cancelling its tasks) can never be awaited here:
        the next loop starts its own."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return True  # a read from outside any loop (shadows_for) never awaits it
        return flight.get_loop() is running

    async def _refresh(self, plan: Plan) -> None:
        """Sends the plan's request and settles it; the flight's result says whether an outcome was applied."""
        try:
            outcome = await self._in_thread(self._send, "GET", plan.url, plan.headers or {}, None)
        except BaseException:
            # Cancelled: the loop is ending (asyncio.run cancels the tasks left when its coroutine returns) or the task
            # was cancelled. The server said nothing, so nothing is counted: no failure, no backoff, no event; the
            # next read (in this loop or the next) asks again. The orphaned thread's answer is dropped.
            self._cache.abandon(plan)
            _finish(plan.flight, False)
            raise
        try:
            self._cache.settle(plan, outcome)
            self._polled(plan)
        finally:
            _finish(plan.flight, True)

    async def gate(
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
            t = await self.get_threshold(gate, fallback, timeout=timeout, assignment_key=assignment_key)
        return self._gate_result(candidates, t, self._partition(candidates, t, score, mode, report_scores), report)

    async def shadow(
        self,
        candidates: Iterable[Any],
        gate: GateLike,
        *,
        key: str,
        score: Union[str, Callable[[Any], Optional[float]]] = "score",
        index_version: Optional[str] = None,
    ) -> List[str]:
        """Shadow evaluation of one mirrored query, as ``Client.shadow``. Never raises (cancellation excepted)."""
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
            await self.get_threshold(g, None)
            return self._shadow(candidates, g, key, score, index_version)
        except Exception:
            log.exception("scoregate: unexpected failure in shadow")
            return []

    # -- observations ---------------------------------------------------------------------------------------------

    def _after_report(self, sealed: bool) -> None:
        """Starts the flush task on the first report made inside a running loop; a full batch wakes it at once."""
        if not self._background or self._closing:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # reported from outside the loop: flush() or the next report inside it sends the batch
        wake = self._loop_wake()
        if self._flusher is None or self._flusher.done():
            self._flusher = self._spawn(self._flush_loop())
        elif sealed:
            wake.set()

    async def _flush_loop(self) -> None:
        wake = self._loop_wake()
        while not self._closing:
            due = self._queue.next_due_at()
            wait = self._flush_interval if due is None else min(self._flush_interval, max(0.05, due - self._now()))
            try:
                await asyncio.wait_for(wake.wait(), wait)
            except asyncio.TimeoutError:
                pass
            wake.clear()
            if not self._closing:
                await self._drive(force=False)

    async def flush(self) -> FlushResult:
        """Sends every queued observation now (one attempt per batch, up to a timeout, a slow failure or a second unanswered batch in a row; failures
        stay queued for a retry with the same batch id, so the server counts a batch once)."""
        return await self._flush(self._now())

    async def _flush(self, since: float) -> FlushResult:
        """``flush()``, trying nothing more when a send that stopped slowly after ``since`` was waited for."""
        sent, failed = await self._drive(force=True, since=since)
        return FlushResult(sent, failed, self.observation_stats())

    async def _drive(self, force: bool, since: Optional[float] = None) -> Tuple[int, int]:
        """One send at a time (any loop's): waits for the running one unless it is lost (``ObservationQueue.claim``)."""
        token = self._queue.claim()
        while token is None:
            await asyncio.sleep(SEND_POLL_SECONDS)
            token = self._queue.claim()
        gen = self._queue.sending(force, token, since)
        try:
            body = next(gen)
            while True:
                body = gen.send(await self._in_thread(self._post_observations, body))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        finally:
            # A send cut off (the loop ended under it, or the task was cancelled) ends here, not whenever the generator
            # is collected: its batch stops being in flight now (the memory bound counts it again, and a later
            # collection cannot clear another send's flag), and stays queued with its batch id, no failure counted. A
            # finished generator's close does nothing.
            gen.close()
            self._queue.release(token)

    async def close(self) -> FlushResult:
        """Stops the flush task, flushes once and releases the worker threads; later reports are ignored (and
        counted). Thresholds keep working (a later request starts new worker threads); streams stop."""
        since = self._now()  # a send the flush task has on the wire now is waited for, not tried again
        # closed first: a report made while close() flushes is ignored and counted, never left queued after it
        self._queue.closed = True
        self._close_streams()
        self._closing = True
        wake = self._loop_wake()  # a flush task of an earlier loop is forgotten here
        flusher = self._flusher
        if flusher is not None and not flusher.done():
            wake.set()
            await asyncio.gather(flusher, return_exceptions=True)
        result = await self._flush(since)
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)
        return result

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # -------------------------------------------------------------------------------------------------------------

    def _loop_wake(self) -> asyncio.Event:
        """The flush task's wake-up event of the running loop (call it inside one)."""
        self._bind()
        assert self._wake is not None
        return self._wake

    def _bind(self) -> None:
        """Binds the loop-bound state to the running loop. A client made at module level often outlives its first loop:
        ``asyncio.run`` called again, a test framework's loop per test, Starlette's TestClient. An asyncio event or task
        of a finished loop cannot be awaited in the next one (the flush task would die and observations would stop
        being sent), so a new running loop gets its own, and the next report starts the flush task there. Requests run in
        the client's worker threads, which serve any loop. One loop at a time: two loops running at once would take the
        state from each other."""
        loop = asyncio.get_running_loop()
        if loop is self._loop and self._wake is not None:
            return
        self._loop = loop
        self._wake = asyncio.Event()
        if self._flusher is not None and self._flusher.get_loop() is not loop:
            self._flusher = None  # the last loop's task: it ended with its loop, or can never run again
        self._tasks = {t for t in self._tasks if t.get_loop() is loop}

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> "asyncio.Task[None]":
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)
        return task

    async def _in_thread(self, fn: Callable[..., Outcome], *args: Any) -> Outcome:
        """Runs a blocking request in the client's worker threads, within the client's ``timeout`` in all (then aborted,
        with a ``timeout`` error as its outcome); its outcome, never an exception."""
        with self._executor_lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="scoregate")
            executor = self._executor
        loop = asyncio.get_running_loop()
        answer: "asyncio.Future[Outcome]" = loop.create_future()

        def deliver(done: "concurrent.futures.Future[Outcome]") -> None:
            # Not run_in_executor: on Python 3.9 its callback raises (and logs a traceback) when the request outlives a
            # loop that was closed without cancelling its tasks; such an answer has nobody to go to.
            if loop.is_closed():
                return
            try:
                loop.call_soon_threadsafe(_resolve, answer, done)
            except RuntimeError:
                pass  # the loop closed meanwhile

        abort = _http.Abort()
        try:
            job = executor.submit(fn, *args, abort=abort)
        except Exception as e:  # the executor was shut down meanwhile
            return ClientError("internal", f"{type(e).__name__}: {e}")
        job.add_done_callback(deliver)
        try:
            # the total deadline, as the TypeScript client's timeoutMs: connect, headers and body (an answer that drips
            # in slowly included), from the moment the request was queued
            return await asyncio.wait_for(answer, self._timeout)
        except asyncio.TimeoutError:
            job.cancel()  # a request not started yet is not sent at all
            abort.abort()  # one under way ends (its socket shut down): the worker thread is free again, its answer dropped
            return _http.timeout_error(self._timeout)
        except BaseException:
            # cancelled (the caller's task, or the loop ending): the answer has nobody to go to
            job.cancel()
            abort.abort()
            raise


def _resolve(answer: "asyncio.Future[Outcome]", done: "concurrent.futures.Future[Outcome]") -> None:
    """Hands a worker thread's outcome to the loop (``_send`` returns outcomes; an exception is an internal error)."""
    if answer.done():
        return
    error = done.exception() if not done.cancelled() else None
    if done.cancelled():
        answer.cancel()
    elif error is not None:
        answer.set_result(ClientError("internal", f"{type(error).__name__}: {error}"))
    else:
        answer.set_result(done.result())


def _finish(flight: "asyncio.Future[bool]", settled: bool) -> None:
    """Wakes the callers waiting for a request: ``settled`` False when it was cut off. Nothing to wake once the loop
    is closed (a pending task of a closed loop is closed when collected, and its loop can schedule nothing)."""
    if not flight.done() and not flight.get_loop().is_closed():
        flight.set_result(settled)


__all__ = ["AsyncClient"]
