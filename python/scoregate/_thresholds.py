"""The threshold cache both clients share: what to answer, when to ask the server, and what an answer changes. It does
no I/O and never waits: ``Client`` runs its requests in threads, ``AsyncClient`` in tasks, and both hand the outcome
back to ``settle``. The behaviour matches the TypeScript client (packages/client/src/client.ts; the shared cases are
fixtures/client-behaviour.json):

* within the server's ``max-age`` an answer comes from memory (``cached``); past it, at once (``stale``) while one
  background revalidation with ``If-None-Match`` runs, up to ``max-age`` plus the server's ``stale-if-error``;
* only a caller that holds nothing for the gate waits, at most its own deadline (``calibrated`` when the server
  answered, else its ``fallback``, or ``uncalibrated`` when the server says the gate has no active calibration);
* one request per gate at a time; a request older than its own timeout plus a second is considered lost and replaced;
* failures back off exponentially with jitter and honour ``Retry-After``; a 401/403 stops every request.
"""

from __future__ import annotations

import collections
import logging
import math
import re
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from . import _http
from ._assignment import BASIS_POINTS, bucket_of
from ._gate import score_value
from ._types import (
    THRESHOLD_MAX_AGE_SECONDS,
    THRESHOLD_STALE_IF_ERROR_SECONDS,
    THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS,
    ClientError,
    ClientEvent,
    Gate,
    Guards,
    ThresholdResult,
    as_gate,
)

log = logging.getLogger("scoregate")

#: The activation seq of a threshold ETag, ``"<calibration id>.<seq>"`` (weak or strong); a pushed event's ETag is built
#: the same way, from its ``seq``.
_ETAG_SEQ = re.compile(r'^(?:W/)?"\w+\.([0-9]+)"$', re.ASCII)

#: How much longer than its own timeout a shared request may run before a caller treats it as lost (seconds).
LOST_REQUEST_GRACE_SECONDS = 1.0

Outcome = Union[_http.Response, ClientError]


@dataclass
class Entry:
    gate: Gate
    value: Optional[Dict[str, Any]] = None
    etag: Optional[str] = None
    #: when the server last confirmed the value (or the uncalibrated answer)
    fetched_at: float = 0.0
    max_age: float = THRESHOLD_MAX_AGE_SECONDS
    stale_if_error: float = float(max(THRESHOLD_STALE_IF_ERROR_SECONDS, THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS))
    uncalibrated: bool = False
    #: the server's 404 ``uncalibrated`` error while the gate is uncalibrated: its message may say which gate was meant
    #: ("did you mean index=docs?"); None for a pushed uncalibrated state or a snapshot's
    uncalibrated_error: Optional[ClientError] = None
    #: served from a snapshot until the server answers: always ``stale``, never ``cached``
    bootstrapped: bool = False
    failures: int = 0
    next_attempt_at: float = 0.0
    last_error: Optional[ClientError] = None
    #: the running request's completion signal (a threading.Event or an asyncio.Future), or None
    inflight: Any = None
    inflight_started: float = 0.0
    #: until when the gate's stream vouched for the entry (its last event or heartbeat plus the read timeout; 0: none),
    #: and the seq of the last event it applied: a poll's answer no newer than that seq never shortens that lifetime
    stream_until: float = 0.0
    stream_seq: int = 0


@dataclass
class Plan:
    """What a caller does next: return ``answer`` now, or wait for ``flight`` (when ``answer`` is None). With ``start``
    set, the caller created ``flight`` and must send ``url`` with ``headers`` and hand the outcome to ``settle``."""

    entry: Entry
    answer: Optional[ThresholdResult] = None
    flight: Any = None
    start: bool = False
    url: str = ""
    headers: Optional[Dict[str, str]] = None


class ThresholdCache:
    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float,
        backoff: Tuple[float, float],
        max_stale: Optional[float],
        max_gates: int,
        clock: Callable[[], float],
        rng: Callable[[], float],
        new_flight: Callable[[], Any],
        flight_alive: Callable[[Any], bool] = lambda _flight: True,
    ):
        self._base = base_url
        self._token = token
        self._timeout = timeout
        self._backoff = backoff
        self._max_stale = max_stale
        self._max_gates = max(1, max_gates)
        self._now = clock
        self._rng = rng
        self._new_flight = new_flight
        self._flight_alive = flight_alive
        self._lock = threading.Lock()
        self.entries: "collections.OrderedDict[Tuple[str, str, str, Optional[str]], Entry]" = collections.OrderedDict()
        #: set by a 401/403: the token is wrong, so nothing is sent again (retrying forever helps nobody)
        self.auth_error: Optional[ClientError] = None
        #: the ``scoregate-api-version`` header of the last answer that had one (diagnostics only)
        self.api_version: Optional[str] = None
        self._listeners: List[Callable[[ClientEvent], None]] = []
        #: events of transitions made under the lock, told to the listeners once it is released (``_tell``)
        self._pending: List[ClientEvent] = []

    def after_fork(self) -> None:
        """In a forked child: a new lock, and no request in flight (the parent's ran in threads that do not exist
        here: waiting for them would wait forever). The values held stay: the child serves them as the parent did."""
        self._lock = threading.Lock()
        for entry in self.entries.values():
            entry.inflight = None

    # -- listening -------------------------------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[ClientEvent], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _tell(self) -> None:
        """Tells every listener the events made so far, outside the lock (a listener may read the cache). A listener's
        exception is logged and ignored: it must not break the cache."""
        with self._lock:
            events, self._pending = self._pending, []
            listeners = list(self._listeners)
        for event in events:
            for listener in listeners:
                try:
                    listener(event)
                except Exception:
                    log.exception("scoregate: a listener failed on a %s event", event.type)

    # -- deciding --------------------------------------------------------------------------------------------------

    def plan(self, gate: Gate, fallback: Optional[float], assignment_key: Optional[str] = None) -> Plan:
        key = gate.key()
        with self._lock:
            now = self._now()
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)  # least recently used order
                fresh = (entry.value is not None or entry.uncalibrated) and not entry.bootstrapped and now - entry.fetched_at < entry.max_age
                if fresh:
                    return Plan(entry, answer=self._answer(entry, fallback, True, assignment_key))
                if self._usable(entry, now):
                    plan = self._claim(entry, now)
                    plan.answer = self._answer(entry, fallback, False, assignment_key)
                    return plan
                if entry.value is not None and not entry.bootstrapped:
                    # past stale-if-error: too old to serve
                    entry.value = None
                    entry.etag = None
            else:
                entry = Entry(gate=gate, fetched_at=now)
                self.entries[key] = entry
                self._evict()
            plan = self._claim(entry, now)
            if plan.flight is None:
                plan.answer = fallback_result(fallback, entry.uncalibrated, self.auth_error or entry.last_error)
            return plan

    def after_wait(self, entry: Entry, fallback: Optional[float], assignment_key: Optional[str] = None) -> ThresholdResult:
        """The answer of a caller whose wait for the shared request ended in time."""
        with self._lock:
            if entry.value is not None and not entry.uncalibrated and entry.last_error is None and not entry.bootstrapped:
                result = self._answer(entry, fallback, True, assignment_key)
                result.reason = "calibrated"
                return result
            if entry.uncalibrated and entry.last_error is None:
                return fallback_result(fallback, True, entry.uncalibrated_error, entry.fetched_at)
            return fallback_result(fallback, False, self.auth_error or entry.last_error)

    def _usable(self, entry: Entry, now: float) -> bool:
        """Can this entry answer without waiting? A bootstrapped value can until the server answers."""
        if entry.uncalibrated:
            return True
        if entry.value is None:
            return False
        if entry.bootstrapped:
            return True
        limit = self._max_stale if self._max_stale is not None else entry.stale_if_error
        return now - entry.fetched_at < entry.max_age + limit

    def _answer(self, entry: Entry, fallback: Optional[float], fresh: bool, key: Optional[str] = None) -> ThresholdResult:
        """The served answer; during a promotion the arm's, chosen by the key's bucket under the rollout's salt."""
        if entry.uncalibrated:
            return fallback_result(fallback, True, entry.uncalibrated_error, entry.fetched_at)
        v = entry.value or {}
        rollout = v.get("rollout")
        promotion = None
        if rollout is not None:
            # a key is a non-empty string: another value (an int id, None, "") is no key, as in the TypeScript client
            keyed = isinstance(key, str) and key != ""
            candidate = keyed and bucket_of(rollout["salt"], key) < rollout["percent_bp"]  # type: ignore[arg-type]  # keyed: a str
            if candidate:
                v = rollout["candidate"]
            arm = "candidate" if candidate else "control" if keyed else "unassigned"
            promotion = {"id": rollout["promotion_id"], "step": rollout["step"], "arm": arm}
        guards = v.get("guards") or {}
        return ThresholdResult(
            threshold=v.get("threshold"),
            calibration_id=v.get("calibration_id"),
            index_version=v.get("index_version"),
            expected_drop_rate=v.get("expected_drop_rate"),
            reason="cached" if fresh else "stale",
            fetched_at=entry.fetched_at,
            error=None if fresh else (self.auth_error or entry.last_error),
            guards=Guards(guards.get("min_keep", 0), guards.get("max_keep")),
            abstain_below=v.get("abstain_below"),
            promotion=promotion,
        )

    def _claim(self, entry: Entry, now: float) -> Plan:
        """Joins the entry's running request, or starts one unless the token was refused or a backoff is in force
        (called with the lock held)."""
        if self.auth_error is not None:
            return Plan(entry)
        if (
            entry.inflight is not None
            and now - entry.inflight_started <= self._timeout + LOST_REQUEST_GRACE_SECONDS
            and self._flight_alive(entry.inflight)
        ):
            return Plan(entry, flight=entry.inflight)
        if entry.inflight is None and now < entry.next_attempt_at:
            return Plan(entry)
        entry.inflight = self._new_flight()
        entry.inflight_started = now
        g = entry.gate
        params = {"index": g.index, "embedding": g.embedding, "reranker": g.reranker, "index_version": g.index_version}
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        headers = _http.auth_headers(self._token)
        if entry.etag is not None:
            # a pushed uncalibrated state has an ETag too (its seq): sent, the server reads its record for a client
            # ahead of its copies
            headers["If-None-Match"] = entry.etag
        return Plan(entry, flight=entry.inflight, start=True, url=f"{self._base}/v1/threshold?{query}", headers=headers)

    def _evict(self) -> None:
        while len(self.entries) > self._max_gates:
            self.entries.popitem(last=False)

    # -- learning --------------------------------------------------------------------------------------------------

    def settle(self, plan: Plan, outcome: Outcome) -> None:
        """Applies a request's outcome (an HTTP answer, or the ClientError of a request that got none)."""
        entry = plan.entry
        with self._lock:
            try:
                self._apply(entry, outcome, self._now(), (plan.headers or {}).get("If-None-Match"))
                # a cold read's poll answered after the stream's snapshot: the answer's max-age (5 s) must not replace
                # the stream's read timeout, or the gate polls every 5 s with the stream open until its first heartbeat
                if (seq_of(entry.etag) or 0) <= entry.stream_seq and entry.fetched_at + entry.max_age < entry.stream_until:
                    entry.max_age = entry.stream_until - entry.fetched_at
            except Exception as e:  # a malformed answer must not break the cache
                self._fail(entry, ClientError("internal", f"{type(e).__name__}: {e}"))
            finally:
                if entry.inflight is plan.flight:
                    entry.inflight = None
        self._tell()

    def abandon(self, plan: Plan) -> None:
        """A request cut off before its outcome (AsyncClient: its event loop ended under it): the server said nothing,
        so nothing changes (no failure, no backoff, no event) but the entry's request slot, free for the next read."""
        with self._lock:
            if plan.entry.inflight is plan.flight:
                plan.entry.inflight = None

    def _apply(self, entry: Entry, outcome: Outcome, now: float, sent_etag: Optional[str] = None) -> None:
        if isinstance(outcome, ClientError):
            self._fail(entry, outcome)
            return
        status, headers, body = outcome
        self.api_version = headers.get(_http.API_VERSION_HEADER) or self.api_version
        if status == 200:
            value = read_threshold_response(body)
            if value is None:
                self._fail(entry, ClientError("bad_response", "200 without a valid threshold body", status))
                return
            if _older_than_held(entry, headers.get("ETag"), sent_etag):
                # a poll sent before a pushed event was applied: the newer value stays, with its own lifetimes (the
                # stream never pushes that seq again)
                return
            self._take(entry, value, headers.get("ETag"), headers, now)
            return
        if status == 304 and sent_etag != entry.etag:
            # a 304 vouches for the ETag sent only: for one no longer held (a newer state was pushed meanwhile) it
            # confirms nothing and renews nothing
            return
        if status == 304 and entry.value is not None:
            # a value from a snapshot is announced on the server's first word on it, as the TypeScript client does
            self._confirm_and_announce(entry, headers, now, entry.bootstrapped, entry.value["calibration_id"])
            return
        failure = _http.describe_failure(status, body, _http.parse_retry_after(headers.get("Retry-After"), now))
        if failure.code == "uncalibrated":
            if _older_than_held(entry, headers.get("ETag"), sent_etag):
                return  # a lagging copy that has not seen the activation the stream pushed meanwhile
            self._mark_uncalibrated(entry, headers, now, failure)
        elif failure.code in ("unauthorized", "forbidden"):
            self._stop_on_auth(entry, failure)
        else:
            self._fail(entry, failure)

    def _take(self, entry: Entry, value: Dict[str, Any], etag: Optional[str], headers: Mapping[str, str], now: float) -> None:
        """A new value (a 200 or a pushed event): keep it; announce a changed calibration, or a recovery."""
        previous = entry.value["calibration_id"] if entry.value is not None else None
        entry.value, entry.etag, entry.uncalibrated = value, etag, False
        self._confirm_and_announce(entry, headers, now, previous != value["calibration_id"], previous)

    def _confirm_and_announce(self, entry: Entry, headers: Mapping[str, str], now: float, announce: bool, previous: Optional[str]) -> None:
        """Confirms the held value: a recovery when the entry was failing, then its calibration when ``announce``."""
        self._confirmed(entry, headers, now)
        value = entry.value or {}
        if announce:
            self._pending.append(
                ClientEvent("calibration", entry.gate, value.get("calibration_id"), previous, value.get("threshold"))
            )

    def _mark_uncalibrated(self, entry: Entry, headers: Mapping[str, str], now: float, error: Optional[ClientError] = None) -> None:
        """The server says the gate serves nothing (a 404 ``uncalibrated`` with its error, or a pushed event without a
        served state): the error is kept for the answers and told with the event, so a typo in a gate key does not run
        on the fallback without a word."""
        was = entry.uncalibrated
        entry.value, entry.etag, entry.uncalibrated, entry.uncalibrated_error = None, None, True, error
        self._confirmed(entry, headers, now)
        if not was:
            self._pending.append(ClientEvent("uncalibrated", entry.gate, error=error))

    def shadows(self, gate: Gate) -> List[Dict[str, Any]]:
        """The gate's shadow calibrations as last served (none when nothing is held)."""
        with self._lock:
            entry = self.entries.get(gate.key())
            return list(((entry.value if entry is not None else None) or {}).get("shadows") or [])

    def pushed(self, gate: Gate, event: Optional[Mapping[str, Any]], max_age: float, restarted: bool = False, snapshot: bool = False) -> None:
        """A pushed event (scoregate._stream): its full state replaces the gate's entry as a 200 with its ETag would (an
        event older than the entry's ETag is ignored, unless ``restarted``: the first event of a restarted history,
        whose seqs start lower); ``event`` None only confirms the entry (a heartbeat). The entry counts as fresh for
        ``max_age`` seconds (the stream's read timeout); ``None, 0`` marks it stale, so the next read polls (the stream
        failed over to polling). ``snapshot``: the event is the server's current state sent at connect (its last change,
        perhaps long past), said so in the ``gate`` event."""
        with self._lock:
            self._pushed(gate, event, max_age, restarted, snapshot)
        self._tell()

    def restarted(self, gate: Gate, last_seq: int, head_seq: int) -> None:
        """The gate's stream saw the server's event history restart (its seq went back from ``last_seq`` to
        ``head_seq``): the entry is stale at once (a read polls, and the answer is taken whatever its seq), and
        listeners hear ``history_restarted``."""
        with self._lock:
            entry = self.entries.get(gate.key())
            if entry is not None:
                entry.max_age = 0
                entry.stream_until = 0.0
            self._pending.append(ClientEvent("history_restarted", gate, event={"last_seq": last_seq, "head_seq": head_seq}))
        self._tell()

    def held_seq(self, gate: Gate) -> Optional[int]:
        """The activation seq of the gate's held ETag (None: none held)."""
        with self._lock:
            entry = self.entries.get(gate.key())
            return seq_of(entry.etag) if entry is not None else None

    def _pushed(self, gate: Gate, event: Optional[Mapping[str, Any]], max_age: float, restarted: bool = False, snapshot: bool = False) -> None:
        entry = self.entries.get(gate.key())
        now = self._now()
        if entry is None:
            if event is None:
                return
            # the stream's first event can come before the read that opened it made the entry (or after the entry was
            # evicted): keep it, as the stream never pushes that seq again
            entry = Entry(gate=gate, fetched_at=now)
            self.entries[gate.key()] = entry
            self._evict()
        if event is None:
            if max_age > 0:
                self._confirmed(entry, {}, now)
            entry.max_age = max_age
            entry.stream_until = now + max_age if max_age > 0 else 0.0
            return
        held = seq_of(entry.etag)
        if held is not None and event["seq"] < held and not restarted:
            return
        served = event.get("served")
        if served is None:
            self._mark_uncalibrated(entry, {}, now)
            # its seq kept as an ETag, so an older poll answer cannot undo it and the next poll tells the server what
            # it saw
            entry.etag = f'"{event.get("calibration_id") or "uncalibrated"}.{event["seq"]}"'
        else:
            value = read_threshold_response(served)
            if value is None:
                return
            self._take(entry, value, f'"{value["calibration_id"]}.{event["seq"]}"', {}, now)
        self._pending.append(ClientEvent("gate", entry.gate, event=dict(event), snapshot=snapshot))
        entry.max_age = max_age
        entry.stream_until = now + max_age if max_age > 0 else 0.0
        entry.stream_seq = event["seq"]

    def stop_on_auth(self, entry: Optional[Entry], error: ClientError) -> None:
        """A refused token (the observation queue's, outside the lock): stop every request, once."""
        with self._lock:
            self._stop_on_auth(entry, error)
        self._tell()

    def _stop_on_auth(self, entry: Optional[Entry], error: ClientError) -> None:
        if entry is not None:
            entry.last_error = error
        if self.auth_error is None:
            self.auth_error = error
            log.error("scoregate: %s (%s): the client stops sending requests; fix the token", error.code, error.message)
            self._pending.append(ClientEvent("error", entry.gate if entry is not None else None, error=error))

    def _confirmed(self, entry: Entry, headers: Mapping[str, str], now: float) -> None:
        """A server answer (200, 304, 404 uncalibrated, a pushed event or heartbeat): reset the failure state and take the
        lifetimes it sent; ``recovered`` when the entry was failing: the server answers again, whatever it says (the
        TypeScript client's ``confirm``)."""
        if entry.last_error is not None:
            self._pending.append(ClientEvent("recovered", entry.gate))
        cc = _http.parse_cache_control(headers.get("Cache-Control"))
        entry.fetched_at = now
        entry.max_age = cc.get("max-age", THRESHOLD_MAX_AGE_SECONDS)
        entry.stale_if_error = max(
            cc.get("stale-while-revalidate", THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS),
            cc.get("stale-if-error", THRESHOLD_STALE_IF_ERROR_SECONDS),
        )
        entry.bootstrapped = False
        entry.failures = 0
        entry.next_attempt_at = 0.0
        entry.last_error = None

    def _fail(self, entry: Entry, error: ClientError) -> None:
        entry.failures += 1
        entry.last_error = error
        initial, cap = self._backoff
        entry.next_attempt_at = self._now() + _http.backoff_delay(initial, cap, entry.failures, self._rng(), error.retry_after)
        if entry.failures == 1:
            log.warning("scoregate: %s for %s: %s", error.code, entry.gate, error.message)
            self._pending.append(ClientEvent("error", entry.gate, error=error))

    # -- snapshots -------------------------------------------------------------------------------------------------

    def snapshot(self) -> Dict[str, Any]:
        with self._lock:
            entries = [
                {"gate": {k: v for k, v in vars(e.gate).items() if v is not None}, "response": e.value, "etag": e.etag, "fetched_at": e.fetched_at}
                for e in self.entries.values()
                if e.value is not None
            ]
            return {"version": 1, "saved_at": self._now(), "entries": entries}

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Loads a snapshot's readable entries (an unreadable snapshot or entry is skipped, as the TypeScript client's
        ``restoreInto`` does: a cold start without its snapshot still serves)."""
        if not isinstance(snapshot, Mapping) or type(snapshot.get("version")) is not int or snapshot["version"] != 1:
            return
        entries = snapshot.get("entries")
        if not isinstance(entries, list):
            return
        with self._lock:
            for s in entries:
                saved = s.get("gate") if isinstance(s, Mapping) else None
                if not (isinstance(saved, Mapping) and isinstance(saved.get("embedding"), str) and isinstance(saved.get("reranker"), str)):
                    continue
                gate = as_gate(saved)
                response = read_threshold_response(s.get("response"))
                if response is None:
                    continue
                existing = self.entries.get(gate.key())
                if existing is not None and not existing.bootstrapped and (existing.value is not None or existing.uncalibrated):
                    continue
                e = existing or Entry(gate=gate)
                e.value = response
                e.etag = s.get("etag") if isinstance(s.get("etag"), str) else None
                fetched_at = s.get("fetched_at")
                e.fetched_at = float(fetched_at) if _is_number(fetched_at) else 0.0
                e.bootstrapped = True
                self.entries[gate.key()] = e
            self._evict()


def seq_of(etag: Optional[str]) -> Optional[int]:
    """The activation seq of a threshold ETag, or None when it is not one (absent, or another format)."""
    m = _ETAG_SEQ.match((etag or "").strip())
    return int(m.group(1)) if m else None


def _older_than_held(entry: Entry, etag: Optional[str], sent_etag: Optional[str]) -> bool:
    """Is an answer (a 200 with ``etag``, or a 404 uncalibrated, which has none) older than a state the entry took
    while its request was out (a pushed event)? The rule of the TypeScript client, a missing seq read as 0: older iff
    the held seq is above the one the request sent and the answer's is below the held one. A request that sent the
    held ETag was answered knowing it (the server reads D1, its record, for a client ahead of its copies): its answer
    is taken even with a lower seq (a restored database). A value from a snapshot is not the server's word to this
    client, so it never outranks one."""
    if entry.bootstrapped:
        return False
    held = seq_of(entry.etag) or 0
    return held > (seq_of(sent_etag) or 0) and (seq_of(etag) or 0) < held


def fallback_result(fallback: Any, uncalibrated: bool, error: Optional[ClientError], fetched_at: Optional[float] = None) -> ThresholdResult:
    """The caller's fallback as the answer. A fallback that is not a real number (NaN, a bool or a string such as
    ``"0.1"`` included) is None, which keeps everything: it is never coerced, and ``gate()`` never compares a score
    with it (a str would raise TypeError on the hot path). The TypeScript client treats it the same way."""
    return ThresholdResult(
        threshold=score_value(fallback),
        calibration_id=None,
        index_version=None,
        expected_drop_rate=None,
        reason="uncalibrated" if uncalibrated else "fallback",
        fetched_at=fetched_at if uncalibrated else None,
        error=error,
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_finite(v: Any) -> bool:
    return _is_number(v) and math.isfinite(v)


def _whole(v: Any) -> Any:
    """A whole float (``2.0``) as the int it is: JSON does not tell them apart, and the TypeScript client (whose
    ``Number.isInteger(2.0)`` holds) accepts it as a count; anything else unchanged."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _is_count(v: Any, minimum: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= minimum


def _read_gate(b: Any) -> Optional[Dict[str, Any]]:
    """A served gate's fields (the body's own, a rollout's candidate's, a shadow's), with the guards and the cutoff of
    a server from before guards (neither sent) read as none; None when a field is missing or broken. What else the
    object carries is not checked here (the TypeScript client's ``readGate``)."""
    if not isinstance(b, dict) or "threshold" not in b:
        return None  # the threshold is required: null keeps everything, a missing one is a broken body
    t = b["threshold"]
    if not (t is None or _is_finite(t)):
        return None
    if not (isinstance(b.get("calibration_id"), str) and isinstance(b.get("index_version"), str) and _is_number(b.get("expected_drop_rate"))):
        return None
    guards: Dict[str, Any] = {"min_keep": 0, "max_keep": None}
    g = b.get("guards")
    if g is not None:
        # an object when sent, with both fields (a null max_keep: no cap); null reads as none, as in the TypeScript client
        if not isinstance(g, dict) or "max_keep" not in g:
            return None
        floor, cap = _whole(g.get("min_keep")), _whole(g["max_keep"])
        if not _is_count(floor, 0) or not (cap is None or (_is_count(cap, 1) and cap >= floor)):
            return None
        guards = {"min_keep": floor, "max_keep": cap}
    a = b.get("abstain_below")
    if not (a is None or _is_finite(a)):
        return None
    return {**b, "guards": guards, "abstain_below": a}


def read_threshold_response(body: Any) -> Optional[Dict[str, Any]]:
    """The body of a 200 as the cache keeps it, or None when it is not a threshold body (the TypeScript client's
    ``readThresholdResponse``). A server from before guards sends neither ``guards`` nor ``abstain_below``, one from
    before promotions neither ``rollout`` nor ``shadows``: each missing field reads as its neutral value, so the gate
    behaves as it did. A field that is present but broken (a negative or fractional ``min_keep``, a ``max_keep`` below
    1 or below ``min_keep``, an infinite cutoff, a rollout without a readable candidate, a shadow without a finite
    ``sample_rate``) makes the whole body invalid: half a policy is worse than the fallback."""
    top = _read_gate(body)
    if top is None:
        return None
    rollout = body.get("rollout")
    if rollout is not None:
        if not isinstance(rollout, dict):
            return None
        bp, step, candidate = _whole(rollout.get("percent_bp")), _whole(rollout.get("step")), _read_gate(rollout.get("candidate"))
        if not (_is_count(bp, 0) and _is_count(step, 0) and isinstance(rollout.get("salt"), str) and isinstance(rollout.get("promotion_id"), str) and candidate is not None):
            return None
        rollout = {**rollout, "percent_bp": bp, "step": step, "candidate": candidate}
    shadows = body.get("shadows")
    if shadows is None:
        shadows = []  # null reads as none, as in the TypeScript client
    if not isinstance(shadows, list):
        return None
    read = [_read_gate(s) if isinstance(s, dict) and _is_finite(s.get("sample_rate")) else None for s in shadows]
    if any(s is None for s in read):
        return None
    return {**top, "rollout": rollout, "shadows": read}
