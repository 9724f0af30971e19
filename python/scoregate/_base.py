"""What ``Client`` and ``AsyncClient`` share besides the cache and the queue: configuration, snapshots, reports, the
shape of ``gate()``'s answer, and one blocking request."""

from __future__ import annotations

import json
import logging
import math
import numbers
import os
import random
import re
import secrets
import threading
import time
import weakref
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from . import _http, _stream
from ._stream import MAX_DELAY_SECONDS, check_number
from ._assignment import shadows_taking
from ._gate import Partition, Score, partition, score_key_problem
from ._observations import DEFAULT_BATCH_SIZE, DEFAULT_MAX_QUEUED, DEFAULT_MAX_SCORES, NOT_GIVEN, ObservationQueue
from ._thresholds import LOST_REQUEST_GRACE_SECONDS, Outcome, Plan, ThresholdCache, fallback_result
from ._types import GATE_NEEDS, BadGate, ClientError, ClientEvent, Gate, GateLike, GateResult, ObservationStats, ThresholdResult, as_gate

log = logging.getLogger("scoregate")
#: ``http://`` or ``https://``, a host and no whitespace (once trimmed: a URL read from a file ends with a newline):
#: what every request's URL is built on (the TypeScript client's test); "http://local host" would fail every request
ABSOLUTE_HTTP_URL = re.compile(r"https?://[^\s/?#]\S*", re.IGNORECASE)


#: What a token may not contain once surrounding whitespace is stripped: control characters (a line break would end
#: the Authorization header) and anything beyond ASCII (urllib sends header values as Latin-1 and API tokens are ASCII)
TOKEN_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]|[^\x00-\x7f]")
#: The values of ``gate()``'s ``unscored`` option
UNSCORED_CHOICES = ("keep", "drop")


def _checked_token(token: Any) -> str:
    """The token without surrounding whitespace (a token read from a secret file ends with a newline, which every
    request would refuse as a header value: the client would serve its fallback forever). A token with a control or
    non-ASCII character inside is a configuration error, raised here rather than failing every request; the message
    names the position, never the token."""
    if not isinstance(token, str) or token.strip() == "":
        raise TypeError("scoregate: token is required: Client(base_url, token), a token of the server's (locally: dev-read)")
    token = token.strip()
    bad = TOKEN_FORBIDDEN.search(token)
    if bad is not None:
        raise ValueError(
            f"scoregate: the token has {bad.group()!r} at position {bad.start()}, a control or non-ASCII character: "
            "it cannot be sent in an Authorization header"
        )
    return token


class _Required:
    """The default of an argument a caller must pass (``get_threshold``'s and ``gate()``'s gate and fallback): shown as
    ``<required>``. A call without it is a programming error, answered as the TypeScript client answers a call without
    its options (a missing gate: the fallback with a ``bad_request`` error; a missing fallback: None, which keeps
    everything), never raised on a request's path."""

    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()

#: Why ``gate(..., served=x)`` is refused when ``x`` is not a ThresholdResult (the answer's ``bad_request`` error)
SERVED_NEEDS = "served must be the ThresholdResult of get_threshold()"


def gate_candidates(candidates: Any) -> Tuple[Sequence[Any], Optional[str]]:
    """``gate()``'s and ``shadow()``'s candidates as a sequence (any iterable, a generator included, is read once), and
    None; or no candidates and why they are none (the ``bad_request`` message), as the TypeScript client answers
    candidates that are not an array: None (a reranker wrapper's answer on its own failure), a str or bytes (whose
    characters would each be an unscored candidate), a mapping (the reranker's whole response object, whose keys would
    be), anything not iterable, and an iterable that raises while it is read."""
    if isinstance(candidates, (list, tuple)):
        return candidates, None
    got = "None" if candidates is None else type(candidates).__name__
    bad = f"candidates must be a list or another iterable of candidates (got {got})"
    if candidates is None or isinstance(candidates, (str, bytes, bytearray, memoryview, Mapping)):
        return [], bad
    try:
        return list(candidates), None
    except TypeError:
        return [], bad
    except Exception as e:  # the caller's own iterator failed: answered, never raised on a request's path
        return [], f"candidates could not be read: their iterator raised {type(e).__name__}"


#: The defaults of the options that have no constant elsewhere (seconds; the TypeScript client's): one place for the
#: signature and for None, which means the default.
DEFAULT_BACKOFF_INITIAL = 1.0
DEFAULT_BACKOFF_MAX = 60.0
DEFAULT_MAX_GATES = 1000
DEFAULT_FLUSH_INTERVAL = 5.0


def _client_id() -> str:
    """A client's part of its batch ids: 64 random bits (replicas in containers often share a pid, and a repeated batch
    id is counted once), after the pid for the reader."""
    return f"py-{os.getpid()}-{secrets.token_hex(8)}"


#: every live client, so a forked child resets each (``ClientBase._after_fork``); weak: a client is never kept alive
_LIVE_CLIENTS: "weakref.WeakSet[ClientBase]" = weakref.WeakSet()
_FORK_HOOK_LOCK = threading.Lock()
_fork_hook_registered = False


def _after_fork_in_child() -> None:
    for client in list(_LIVE_CLIENTS):
        try:
            client._after_fork()
        except Exception:  # a client that cannot reset must not break the child's start
            log.exception("scoregate: resetting a client after fork failed")


def _register_for_fork(client: "ClientBase") -> None:
    global _fork_hook_registered
    _LIVE_CLIENTS.add(client)
    with _FORK_HOOK_LOCK:
        if not _fork_hook_registered and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _fork_hook_registered = True


class ClientBase:
    def __init__(
        self,
        base_url: str,
        token: str = "",
        *,
        timeout: float = 2.0,
        backoff_initial: float = DEFAULT_BACKOFF_INITIAL,
        backoff_max: float = DEFAULT_BACKOFF_MAX,
        max_stale: Optional[float] = None,
        max_gates: int = DEFAULT_MAX_GATES,
        max_queued: int = DEFAULT_MAX_QUEUED,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_scores: int = DEFAULT_MAX_SCORES,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        background: bool = True,
        bootstrap: Optional[Mapping[str, Any]] = None,
        opener: Optional[Callable[..., Any]] = None,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        stream: Any = False,
    ):
        #: the kinds of hot-path mistake already logged (each is logged once: ``_misuse``)
        self._warned: Set[str] = set()
        # (kind, key) of the score-key problems said (_partition)
        self._warned_keys: Set[Tuple[str, str]] = set()
        self._warned_lock = threading.Lock()
        self._init_io()
        # trimmed as the TypeScript client trims it (JavaScript's trim() also takes a byte order mark off)
        trimmed = base_url.strip().strip("\ufeff").strip() if isinstance(base_url, str) else ""
        if not isinstance(base_url, str) or trimmed == "":
            raise TypeError("scoregate: base_url is required")
        if not ABSOLUTE_HTTP_URL.fullmatch(trimmed):
            # "localhost:8787" reads as a URL of scheme "localhost": every request would fail as if the server were
            # down, so a configuration error would look like an outage
            raise ValueError(f"scoregate: base_url {base_url!r} is not an HTTP URL such as 'http://localhost:8787'")
        token = _checked_token(token)
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not 0.001 <= timeout < math.inf:
            # the total deadline of every request: None (no deadline) would hold callers and threads forever
            raise ValueError(f"scoregate: timeout must be a number of seconds of at least 0.001, not {timeout!r}")
        # the other numbers, as the TypeScript client checks them: from configuration (an environment variable passed
        # without float()), a string flush interval killed the flush thread, NaN turned off backoff, 0 cached nothing
        # None means the default (a configuration file's null), as null does in the TypeScript client
        backoff_initial = DEFAULT_BACKOFF_INITIAL if backoff_initial is None else backoff_initial
        backoff_max = DEFAULT_BACKOFF_MAX if backoff_max is None else backoff_max
        max_gates = DEFAULT_MAX_GATES if max_gates is None else max_gates
        max_queued = DEFAULT_MAX_QUEUED if max_queued is None else max_queued
        batch_size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
        max_scores = DEFAULT_MAX_SCORES if max_scores is None else max_scores
        flush_interval = DEFAULT_FLUSH_INTERVAL if flush_interval is None else flush_interval
        for name, value, least, most in (
            ("backoff_initial", backoff_initial, 0.001, MAX_DELAY_SECONDS),
            ("backoff_max", backoff_max, 0.001, MAX_DELAY_SECONDS),
            ("max_gates", max_gates, 1, math.inf),
            ("max_queued", max_queued, 1, math.inf),
            ("batch_size", batch_size, 1, math.inf),
            ("max_scores", max_scores, 0, math.inf),
            ("flush_interval", flush_interval, 0.001, MAX_DELAY_SECONDS),
            ("max_stale", 0 if max_stale is None else max_stale, 0, math.inf),
        ):
            check_number(name, value, least, most)
        self._base = trimmed.rstrip("/")
        self._user_agent = _http.USER_AGENT
        self._token = token
        self._timeout = timeout
        self._open = opener or _http.default_opener()
        self._now = clock
        self._flush_interval = flush_interval
        self._background = background
        backoff = (backoff_initial, backoff_max)
        self._cache = ThresholdCache(
            base_url=self._base,
            token=token,
            timeout=timeout,
            backoff=backoff,
            max_stale=max_stale,
            max_gates=max_gates,
            clock=clock,
            rng=rng,
            new_flight=self._new_flight,
            flight_alive=self._flight_alive,
        )
        self._queue = ObservationQueue(
            # 64 random bits: replicas in containers often share a pid, and a repeated batch id is counted once
            client_id=_client_id(),
            max_queued=max_queued,
            batch_size=batch_size,
            max_scores=max_scores,
            flush_interval=flush_interval,
            backoff=backoff,
            timeout=timeout,
            clock=clock,
            rng=rng,
            stopped=lambda: self._cache.auth_error,
            on_auth_error=lambda e: self._cache.stop_on_auth(None, e),
        )
        if bootstrap is not None:
            self.restore(bootstrap)
        #: pushed changes (``stream=True`` or a mapping of scoregate._stream.StreamOptions fields): off by default
        self._stream_options = _stream.options_of(stream)
        self._streams: Dict[Any, _stream.GateStream] = {}
        self._streams_lock = threading.Lock()
        #: set by close(): no stream opens again, so a read after close() (or one in flight during it) stays polling
        self._streams_closed = False
        self._rng = rng
        _register_for_fork(self)

    def _after_fork(self) -> None:
        """In a child of ``os.fork()`` (gunicorn's ``--preload``, uWSGI without lazy-apps: a client made at import, then
        forked into workers): the parent's threads do not exist here, and the locks they may have held are copied
        held. Fresh locks, the client's kind of I/O set up anew (its flush thread, or its worker threads, start on first
        use), no stream (each reopens on the next read), no request in flight, and an observation queue of the child's
        own: its own client id, so its batch ids never collide with its siblings' (the server would count the first
        body of an id and refuse the others), and none of the parent's queued counts, which the parent sends. The
        thresholds held stay. Registered with ``os.register_at_fork``, so it runs before the child runs anything."""
        self._warned_lock = threading.Lock()
        self._init_io()
        self._streams = {}
        self._streams_lock = threading.Lock()
        self._cache.after_fork()
        self._queue.after_fork(_client_id())

    def _init_io(self) -> None:
        """Sets up what the client's kind of I/O needs (locks, threads or loop state), before anything else."""

    def _new_flight(self) -> Any:
        """A completion signal for one shared request (a threading.Event or an asyncio.Future)."""
        raise NotImplementedError

    def _flight_alive(self, flight: Any) -> bool:
        """Can a caller still wait for this running request? (AsyncClient: not one of another event loop.)"""
        return True

    def _after_report(self, sealed: bool) -> None:
        """Makes sure queued observations will be sent (a thread or a task, per client); ``sealed``: a batch is full."""

    def _misuse(self, kind: str) -> None:
        """Logs a caller's mistake on the hot path at WARNING, once per kind of mistake (a request handler makes it on
        every call: one line, not one per call)."""
        with self._warned_lock:
            if kind in self._warned:
                return
            self._warned.add(kind)
        log.warning("scoregate: %s (said once)", kind)

    def _bad_gate(self, fallback: Any) -> ThresholdResult:
        """The answer to a call whose gate is not one (``as_gate`` refused it): the caller's fallback with a
        ``bad_request`` error, as the TypeScript client answers; nothing is sent (the server would refuse it on every
        call) and nothing reported."""
        self._misuse(
            "a gate without embedding and reranker strings: get_threshold() and gate() answer it with the fallback "
            "(error bad_request), shadows_for() and shadow() with no shadow; nothing is sent"
        )
        return fallback_result(fallback, False, ClientError("bad_request", GATE_NEEDS))

    def _served(self, served: Any, fallback: Any) -> ThresholdResult:
        """``gate()``'s ``served=``: the ThresholdResult a previous ``get_threshold`` returned, applied as it is (its
        threshold, guards, cutoff, calibration and promotion arm: the ones the caller retrieved under). Anything else
        is refused as a gate that is not one is: the caller's fallback with a ``bad_request`` error, nothing reported,
        the mistake logged once."""
        if isinstance(served, ThresholdResult):
            return served
        self._misuse(
            f"gate() was given served= a {type(served).__name__}, not the ThresholdResult of get_threshold(): it answers "
            "the fallback (error bad_request) and reports nothing"
        )
        return fallback_result(None if fallback is REQUIRED else fallback, False, ClientError("bad_request", SERVED_NEEDS))

    def _bad_candidates(self, bad: str, fallback: Any, call: str) -> ThresholdResult:
        """The answer to a ``gate()`` whose candidates are none (``gate_candidates``): the caller's fallback with a
        ``bad_request`` error, as the TypeScript client answers; no threshold is read, nothing reported, the mistake
        logged once."""
        self._misuse(
            f"{call}() took no candidates: {bad}; gate() answers none kept and the fallback (error bad_request), "
            "shadow() takes no shadow, and nothing is sent or reported"
        )
        return fallback_result(None if fallback is REQUIRED else fallback, False, ClientError("bad_request", bad))

    def _wait_of(self, timeout: Any) -> float:
        """A call's ``timeout``: how long a caller that holds nothing waits (seconds, 0 or more; 0 answers at once). None
        is the client's ``timeout``, and so is any other value (a string, NaN, a negative number, a bool), logged once,
        as ``unscored`` is read: a mistake on a request's path must not take down the handler that makes it (the
        constructor, which runs once, raises instead). A wait beyond the client's ``timeout`` (infinity included) ends
        with the shared request, whose own deadline is that ``timeout``."""
        if timeout is None:
            return self._timeout
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not 0 <= timeout:
            self._misuse(
                f"a call was given timeout={timeout!r}, which is not a number of seconds (0 or more): it waits the "
                f"client's timeout, {self._timeout} s"
            )
            return self._timeout
        # a flight is over by its deadline and the grace a lost one gets; a longer wait would change nothing (and
        # threading.Event.wait refuses a huge one)
        return float(min(timeout, self._timeout + LOST_REQUEST_GRACE_SECONDS))

    def _unscored_mode(self, unscored: Any) -> str:
        """``gate()``'s ``unscored``: "keep" or "drop"; any other value is read as "keep", as the TypeScript client reads
        it, and logged once (a typo must not take down the request handler that calls ``gate()``)."""
        if unscored in UNSCORED_CHOICES:
            return str(unscored)
        self._misuse(f"gate() was given unscored={unscored!r}, which is neither 'keep' nor 'drop': it is read as 'keep'")
        return "keep"

    def _watch(self, gate: Gate) -> None:
        """Opens the gate's stream on its first read when streaming is on (at most ``max_gates``; a gate pinned to an
        index version always polls: the server pushes a gate's current state)."""
        o = self._stream_options
        if o is None or gate.index_version is not None:
            return
        with self._streams_lock:
            if self._streams_closed or gate.key() in self._streams or len(self._streams) >= o.max_gates:
                return
            # after a restarted history, until the new state arrives: heartbeats do not confirm the old value, and the
            # new history's first event (its snapshot) replaces it whatever its seq
            resync = [False]

            def on_event(e: Dict[str, Any], snapshot: bool) -> None:
                self._cache.pushed(gate, e, o.read_timeout, restarted=resync[0], snapshot=snapshot)
                resync[0] = False

            def on_heartbeat(head: int) -> None:
                if resync[0] and (self._cache.held_seq(gate) or 0) > head:
                    return
                resync[0] = False
                self._cache.pushed(gate, None, o.read_timeout)

            def on_restart(last_seq: int, head_seq: int) -> None:
                resync[0] = True
                self._cache.restarted(gate, last_seq, head_seq)

            s = _stream.GateStream(
                _stream.events_url(self._base, gate.index, gate.embedding, gate.reranker),
                lambda: {"Authorization": f"Bearer {self._token}", "User-Agent": self._user_agent},
                o,
                on_event=on_event,
                on_heartbeat=on_heartbeat,
                on_restart=on_restart,
                on_state=lambda state, _reason: self._cache.pushed(gate, None, 0) if state in ("polling", "stopped") else None,
                clock=self._now,
                rng=self._rng,
            )
            self._streams[gate.key()] = s
        s.start()

    def _polled(self, plan: Plan) -> None:
        """After a poll's outcome was applied: one the server answered (a value, a 304 or ``uncalibrated``: the entry
        holds no error) tells the gate's stream, which, polling since its connection failed, then tries again
        (``GateStream.polled``) rather than after ``recovery``: a server back from a restart is streamed again within
        about a poll."""
        if self._stream_options is None or plan.entry.last_error is not None or self._cache.auth_error is not None:
            return
        with self._streams_lock:
            s = self._streams.get(plan.entry.gate.key())
        if s is not None:
            s.polled()

    def _close_streams(self) -> None:
        """Stops every stream for good: later reads poll, as a gate beyond ``max_gates`` does."""
        with self._streams_lock:
            self._streams_closed = True
            streams, self._streams = list(self._streams.values()), {}
        for s in streams:
            s.close()

    def subscribe(self, listener: Callable[[ClientEvent], None]) -> Callable[[], None]:
        """Calls ``listener`` with every change of the cache (a ClientEvent: a new calibration, uncalibrated, the first
        error in a row, a recovery, a pushed change); returns the function that unsubscribes it. A listener runs on the
        thread (or, in AsyncClient, the event loop) that learned the change, outside the cache's lock, so it may read
        thresholds; keep it short, and what it raises is logged and ignored."""
        return self._cache.subscribe(listener)

    def streams(self) -> Dict[Any, Optional[int]]:
        """The last event seq each open stream applied, by gate key (health checks and tests)."""
        with self._streams_lock:
            return {k: s.last for k, s in self._streams.items()}

    def add_user_agent_product(self, product: str) -> None:
        """Names an integration or a service in the ``User-Agent`` of every request, in front of what is there
        (``my-rag/2.3 scoregate-python/0.1.0``), so the server's logs tell who called (the TypeScript client's
        ``addUserAgentProduct``). Adding a product twice changes nothing. Raises TypeError for a value that is not an
        HTTP product (``name`` or ``name/version``, token characters only): a configuration error, as at construction."""
        self._user_agent = _http.with_product(self._user_agent, product)

    @property
    def user_agent(self) -> str:
        """The ``User-Agent`` this client sends: the products added, then ``scoregate-python/<version>``."""
        return self._user_agent

    @property
    def auth_error(self) -> Optional[ClientError]:
        """The refused-token error once a 401/403 stopped the client, else None."""
        return self._cache.auth_error

    @property
    def server_api_version(self) -> Optional[str]:
        """The server's ``scoregate-api-version`` header from its last answer that had one (diagnostics; older servers
        send none)."""
        return self._cache.api_version

    def snapshot(self) -> Dict[str, Any]:
        """The cache as a JSON-serializable dict (save it to a file for cold starts)."""
        return self._cache.snapshot()

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Loads a snapshot: its values are served as ``stale`` until the server answers; never replaces a server value.
        Never raises: an unreadable snapshot or entry is skipped."""
        self._cache.restore(snapshot)

    def observation_stats(self) -> ObservationStats:
        return self._queue.stats()

    def report(
        self,
        candidates: int,
        dropped: int,
        *,
        calibration_id: Optional[str] = NOT_GIVEN,
        gate: Optional[GateLike] = None,
        scores: Optional[Sequence[float]] = None,
        below: Optional[int] = None,
        abstained: Optional[bool] = None,
        promotion: Optional[Mapping[str, Any]] = None,
        role: Optional[str] = None,
        unscored: Optional[int] = None,
    ) -> None:
        """Queues one query's counts for POST /v1/observations (batched; never raises, never waits). Name the
        calibration you applied (``calibration_id`` of the threshold), or leave it out and name the gate; ``None`` (a
        fallback result's ``calibration_id``) is not reported: those counts were made at your fallback, not at a
        calibration's threshold. For a guarded or abstaining gate
        pass ``below`` (the scored candidates under the threshold: what it alone would drop) and ``abstained``: the
        query is then sent as ``[candidates, dropped, below, abstained]``, which servers with guards accept (also with
        ``abstained`` alone, True or False, ``below`` then being ``dropped``: exact for a gate without guards; pass it
        on every query of an abstaining gate, as the server's abstention rate counts only the queries that said). With
        ``unscored`` above 0 (candidates passed without a score) ``candidates``, ``dropped`` and ``below`` count the
        scored candidates only and the query is sent as ``[candidates, dropped, below, abstained, unscored]`` (``below``
        defaulting to ``dropped``). During a guarded promotion pass ``promotion``, the threshold result's ``promotion``
        (``{"id", "step", "arm"}``): a candidate arm's counts are that promotion's evidence, and the server refuses them
        without it. ``scores``: the query's scores (a list or another iterable of numbers; None: none), part of the
        server's sample of the gate's production scores; scores that are not such an iterable (a number, a str, a
        mapping) ignore the report, logged once."""
        try:
            self._after_report(
                self._queue.report(candidates, dropped, calibration_id, gate, scores, below, abstained, promotion, role, unscored)
            )
        except Exception:
            log.exception("scoregate: unexpected failure in report")

    def _gate_result(self, candidates: Sequence[Any], t: ThresholdResult, p: Partition, report: bool) -> GateResult:
        """Reports the query's counts when a calibration produced the threshold, and says what was decided."""
        if report and t.calibration_id is not None and len(candidates) > 0:
            # the candidate gate's drops, before abstention: the drop-rate monitor keeps watching the threshold; a guarded
            # or abstaining calibration is also watched on where its guards bind and how often queries abstain
            guarded = t.guards.min_keep > 0 or t.guards.max_keep is not None or t.abstain_below is not None
            extra: Dict[str, Any] = p.counts(len(candidates), guarded)
            if t.promotion is not None:
                extra["promotion"] = t.promotion
            self.report(calibration_id=t.calibration_id, scores=p.scores or None, **extra)
        return GateResult(
            p.kept,
            p.dropped,
            t.threshold,
            t.calibration_id,
            t.reason,
            t.index_version,
            p.unscored,
            t.error,
            abstain=p.abstain,
            abstain_reason=f"top score {p.top_score} is below abstain_below {t.abstain_below}" if p.abstain else None,
            top_score=p.top_score,
            guards=t.guards,
            abstain_below=t.abstain_below,
            promotion=t.promotion,
        )

    def _shadow(self, candidates: Sequence[Any], gate: Gate, key: str, score: Score, index_version: Optional[str]) -> List[str]:
        """Reports a mirrored query for each shadow of the gate whose sample takes ``key`` (``shadows_taking``), gated by
        that shadow, with ``role: "shadow"``; never changes what is served. Returns the calibration ids it reported for."""
        reported: List[str] = []
        for s in shadows_taking(self._cache.shadows(gate), key, index_version):
            g = s.get("guards") or {}
            p = partition(candidates, score, "keep", False, s["threshold"], g.get("min_keep", 0), g.get("max_keep"), s.get("abstain_below"))
            guarded = g.get("min_keep", 0) > 0 or g.get("max_keep") is not None or s.get("abstain_below") is not None
            self.report(calibration_id=s["calibration_id"], role="shadow", **p.counts(len(candidates), guarded))
            reported.append(s["calibration_id"])
        return reported

    def shadows_for(self, gate: GateLike, key: str, *, index_version: Optional[str] = None) -> List[Dict[str, Any]]:
        """The gate's shadows whose sample takes ``key`` (the ones ``shadow()`` would report this key for), read at once
        from the cached threshold answer: ask before querying the new index version, and mirror only the queries it
        names. Each is the served shadow (``calibration_id``, ``index_version``, ``sample_rate``, ``threshold``, ...), a
        shallow copy. Never waits and never raises, on ``AsyncClient`` too: with nothing usable cached it answers ``[]`` and
        starts the request that fills the cache, as a stale value starts its revalidation."""
        try:
            try:
                g = as_gate(gate)
            except BadGate:
                self._bad_gate(None)
                return []
            self._watch(g)
            plan = self._cache.plan(g, None)
            if plan.start:
                self._begin(plan)
            if plan.answer is None:
                return []
            return [dict(s) for s in shadows_taking(self._cache.shadows(g), key, index_version)]
        except Exception:
            log.exception("scoregate: unexpected failure in shadows_for")
            return []

    def _begin(self, plan: Plan) -> Optional[ClientError]:
        """Runs the request a plan claimed in the background (a thread, or a task on the running loop); the error, when
        it could not be started (the claim is then given back)."""
        raise NotImplementedError

    def _partition(self, candidates: Sequence[Any], t: ThresholdResult, score: Score, unscored: str, report_scores: bool) -> Partition:
        """Applies the threshold, the guards and the abstention cutoff ``t`` carries (scoregate._gate). A score key that
        no candidate of the query has, or that holds strings, is said once per key (the adapters say the same): every
        such candidate is unscored, and a misspelt key would otherwise keep or drop them all without a word."""
        g = t.guards
        p = partition(candidates, score, unscored, report_scores, t.threshold, g.min_keep, g.max_keep, t.abstain_below)
        if p.unscored > 0 and isinstance(score, str):
            problem = score_key_problem(candidates, score, unscored)
            if problem is not None:
                with self._warned_lock:
                    said = (problem[0], score) in self._warned_keys
                    self._warned_keys.add((problem[0], score))
                if not said:
                    log.warning("scoregate: %s (said once per score key)", problem[1])
        return p

    def _send(
        self, method: str, url: str, headers: Dict[str, str], body: Optional[bytes], abort: Optional[_http.Abort] = None
    ) -> Outcome:
        """One blocking request within ``timeout`` seconds in all (``_http.request``; each client makes its caller's
        wait exact, and ends the request with ``abort`` at the deadline); its outcome, never an exception."""
        try:
            return _http.request(self._open, method, url, headers, body, self._timeout, abort=abort, user_agent=self._user_agent)
        except _http.Failed as f:
            return f.error
        except Exception as e:  # a broken opener must not break the caller
            return ClientError("internal", f"{type(e).__name__}: {e}")

    def _post_observations(self, body: Dict[str, Any], abort: Optional[_http.Abort] = None) -> Outcome:
        headers = {**_http.auth_headers(self._token), "Content-Type": "application/json"}
        return self._send("POST", f"{self._base}/v1/observations", headers, json.dumps(body).encode(), abort)
