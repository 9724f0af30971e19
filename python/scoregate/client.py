"""The scoregate client for Python services: thresholds on the hot path, and batched observation reports.

Standard library only (Python 3.9+), thread-safe. The behaviour matches the TypeScript client (docs/clients.md):

* ``get_threshold`` answers from memory within the server's ``max-age`` (reason ``cached``), past it while a
  background revalidation with ``If-None-Match`` runs or the server fails (``stale``, up to ``max-age`` plus the
  server's ``stale-if-error``), and waits (at most ``timeout`` seconds) only when it holds nothing for the gate
  (``calibrated`` when the server answered, else the caller's ``fallback`` with reason ``fallback``, or
  ``uncalibrated`` when the server says the gate has no active calibration).
* One request per gate at a time: concurrent callers share it, each waiting at most its own deadline.
* Failures back off exponentially with jitter and honour ``Retry-After``; a 401/403 stops all requests (the token
  will not start working by itself) and is kept in ``client.auth_error``.
* The hot path never raises: any failure becomes a fallback answer with ``error`` set.
"""

from __future__ import annotations

import collections
import email.utils
import json
import logging
import os
import random
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

log = logging.getLogger("scoregate")

# Limits the API promises; the same values as src/contract/limits.ts (python/tests/test_limits.py checks that).
MAX_OBSERVATION_QUERIES = 10_000
MAX_OBSERVATION_SCORES = 10_000
MAX_CANDIDATES_PER_QUERY = 10_000
MAX_BATCH_ID_LENGTH = 128
THRESHOLD_MAX_AGE_SECONDS = 5
THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS = 60
THRESHOLD_STALE_IF_ERROR_SECONDS = 86_400

REASONS = ("calibrated", "cached", "stale", "fallback", "uncalibrated")


@dataclass(frozen=True)
class Gate:
    """A gate as GET /v1/threshold names it; ``index_version`` pins one version (blue/green indexes)."""

    embedding: str
    reranker: str
    index: Optional[str] = None
    index_version: Optional[str] = None

    def key(self) -> Tuple[str, str, str, Optional[str]]:
        return (self.index or "default", self.embedding, self.reranker, self.index_version)


GateLike = Union[Gate, Mapping[str, Any], Tuple[str, ...]]


def as_gate(g: GateLike) -> Gate:
    """Accepts a Gate, a dict with embedding/reranker/index/index_version, or a tuple (embedding, reranker[, index])."""
    if isinstance(g, Gate):
        return g
    if isinstance(g, Mapping):
        return Gate(
            embedding=g["embedding"], reranker=g["reranker"], index=g.get("index"), index_version=g.get("index_version")
        )
    if isinstance(g, tuple) and 2 <= len(g) <= 4:
        return Gate(*g)
    raise TypeError("a gate is Gate(embedding, reranker, index=None, index_version=None), a dict or a tuple")


@dataclass
class ClientError:
    """Why an answer is a fallback or stale: timeout, network, unauthorized, forbidden, rate_limited, server_error,
    bad_request, bad_response, uncalibrated or internal."""

    code: str
    message: str
    status: Optional[int] = None
    retry_after: Optional[float] = None


@dataclass
class ThresholdResult:
    #: keep a candidate iff score >= threshold; None keeps everything
    threshold: Optional[float]
    #: the calibration that produced it; None for fallback and uncalibrated
    calibration_id: Optional[str]
    index_version: Optional[str]
    expected_drop_rate: Optional[float]
    #: calibrated | cached | stale | fallback | uncalibrated
    reason: str
    #: when the server last confirmed the value (epoch seconds), or None
    fetched_at: Optional[float]
    error: Optional[ClientError] = None


@dataclass
class GateResult:
    kept: List[Any]
    dropped: List[Any]
    threshold: Optional[float]
    calibration_id: Optional[str]
    reason: str
    index_version: Optional[str]
    unscored: int = 0
    error: Optional[ClientError] = None


@dataclass
class ObservationStats:
    queued: int = 0
    sent: int = 0
    dropped_for_memory: int = 0
    rejected: int = 0
    ignored: int = 0
    last_error: Optional[ClientError] = None


@dataclass
class FlushResult:
    sent_batches: int
    failed_batches: int
    stats: ObservationStats


# ---------------------------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------------------------


class _Failed(Exception):
    def __init__(self, error: ClientError):
        super().__init__(error.message)
        self.error = error


def _parse_retry_after(value: Optional[str], now: float) -> Optional[float]:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _parse_cache_control(value: Optional[str]) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for part in (value or "").split(","):
        name, _, arg = part.strip().partition("=")
        if name in ("max-age", "stale-while-revalidate", "stale-if-error"):
            try:
                out[name] = max(0.0, float(arg))
            except ValueError:
                pass
    return out


def _describe_failure(status: int, body: Any, retry_after: Optional[float]) -> ClientError:
    code = body.get("error", {}).get("code") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
    message = body["error"].get("message", "") if code else ""
    if status == 401:
        return ClientError("unauthorized", message or "the token is missing or unknown", status)
    if status == 403:
        return ClientError("forbidden", message or "the token's scope does not allow this", status)
    if status == 404 and code == "uncalibrated":
        return ClientError("uncalibrated", message or "the gate has no active calibration", status)
    if status == 429:
        return ClientError("rate_limited", message or "rate limited", status, retry_after)
    if status >= 500:
        return ClientError("server_error", message or f"server error {status}", status, retry_after)
    return ClientError("bad_request", message or f"refused with {status}", status, retry_after)


# ---------------------------------------------------------------------------------------------------------------
# the client
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    gate: Gate
    value: Optional[Dict[str, Any]] = None
    etag: Optional[str] = None
    fetched_at: float = 0.0
    max_age: float = THRESHOLD_MAX_AGE_SECONDS
    stale_if_error: float = float(max(THRESHOLD_STALE_IF_ERROR_SECONDS, THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS))
    uncalibrated: bool = False
    bootstrapped: bool = False
    failures: int = 0
    next_attempt_at: float = 0.0
    last_error: Optional[ClientError] = None
    inflight: Optional[threading.Event] = None
    inflight_started: float = 0.0


@dataclass
class _Batch:
    id: str
    target: Dict[str, Any]
    queries: List[List[int]]
    scores: List[float] = field(default_factory=list)


class Client:
    """``Client(base_url, token)``; one per process is enough (it is thread-safe)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 2.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        max_stale: Optional[float] = None,
        max_gates: int = 1000,
        max_queued: int = 10_000,
        batch_size: int = MAX_OBSERVATION_QUERIES,
        max_scores: int = 2000,
        flush_interval: float = 5.0,
        background: bool = True,
        bootstrap: Optional[Mapping[str, Any]] = None,
        opener: Optional[Callable[..., Any]] = None,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ):
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._backoff = (backoff_initial, backoff_max)
        self._max_stale = max_stale
        self._max_gates = max(1, max_gates)
        self._open = opener or urllib.request.build_opener().open
        self._now = clock
        self._rng = rng
        self._lock = threading.Lock()
        self._entries: "collections.OrderedDict[Tuple, _Entry]" = collections.OrderedDict()
        self.auth_error: Optional[ClientError] = None
        # observations
        self._max_queued = max(1, max_queued)
        self._batch_size = min(MAX_OBSERVATION_QUERIES, max(1, batch_size))
        self._max_scores = min(MAX_OBSERVATION_SCORES, max(0, max_scores))
        self._flush_interval = flush_interval
        self._background = background
        self._groups: "collections.OrderedDict[str, _Batch]" = collections.OrderedDict()
        self._sealed: "collections.deque[_Batch]" = collections.deque()
        self._stats = ObservationStats()
        self._obs_failures = 0
        self._obs_next_attempt = 0.0
        self._client_id = f"py-{os.getpid()}-{secrets.token_hex(4)}"
        self._seq = 0
        self._flush_lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        self._flusher: Optional[threading.Thread] = None
        if bootstrap is not None:
            self.restore(bootstrap)

    # -- thresholds -----------------------------------------------------------------------------------------------

    def get_threshold(self, gate: GateLike, fallback: Optional[float], *, timeout: Optional[float] = None) -> ThresholdResult:
        """The gate's threshold; never raises. ``fallback`` (required; None keeps everything) is used until a first
        answer arrives and when the gate is uncalibrated."""
        try:
            return self._get_threshold(as_gate(gate), fallback, self._timeout if timeout is None else timeout)
        except Exception as e:  # the hot path must never raise
            log.exception("scoregate: unexpected failure in get_threshold")
            return self._fallback(fallback, False, ClientError("internal", f"{type(e).__name__}: {e}"))

    def _get_threshold(self, gate: Gate, fallback: Optional[float], timeout: float) -> ThresholdResult:
        key = gate.key()
        with self._lock:
            now = self._now()
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                fresh = (entry.value is not None or entry.uncalibrated) and not entry.bootstrapped and now - entry.fetched_at < entry.max_age
                if fresh:
                    return self._answer(entry, fallback, True)
                if self._usable(entry, now):
                    self._start_refresh(entry, now, background=True)
                    return self._answer(entry, fallback, False)
                if entry.value is not None and not entry.bootstrapped:
                    # past stale-if-error: too old to serve
                    entry.value = None
                    entry.etag = None
            else:
                entry = _Entry(gate=gate, fetched_at=now)
                self._entries[key] = entry
                while len(self._entries) > self._max_gates:
                    self._entries.popitem(last=False)
            event = self._start_refresh(entry, now, background=True)
            if event is None:
                return self._fallback(fallback, entry.uncalibrated, self.auth_error or entry.last_error, entry.fetched_at)
        # wait outside the lock, at most this caller's own deadline (the shared request has its own timeout)
        if not event.wait(timeout):
            return self._fallback(fallback, False, ClientError("timeout", f"no answer within {timeout} s"))
        with self._lock:
            if entry.value is not None and not entry.uncalibrated and entry.last_error is None and not entry.bootstrapped:
                result = self._answer(entry, fallback, True)
                result.reason = "calibrated"
                return result
            if entry.uncalibrated and entry.last_error is None:
                return self._fallback(fallback, True, None, entry.fetched_at)
            return self._fallback(fallback, False, self.auth_error or entry.last_error)

    def _usable(self, entry: _Entry, now: float) -> bool:
        if entry.uncalibrated:
            return True
        if entry.value is None:
            return False
        if entry.bootstrapped:
            return True
        limit = self._max_stale if self._max_stale is not None else entry.stale_if_error
        return now - entry.fetched_at < entry.max_age + limit

    def _answer(self, entry: _Entry, fallback: Optional[float], fresh: bool) -> ThresholdResult:
        if entry.uncalibrated:
            return self._fallback(fallback, True, None, entry.fetched_at)
        v = entry.value or {}
        error = self.auth_error or entry.last_error
        return ThresholdResult(
            threshold=v.get("threshold"),
            calibration_id=v.get("calibration_id"),
            index_version=v.get("index_version"),
            expected_drop_rate=v.get("expected_drop_rate"),
            reason="cached" if fresh else "stale",
            fetched_at=entry.fetched_at,
            error=None if fresh else error,
        )

    @staticmethod
    def _fallback(fallback: Optional[float], uncalibrated: bool, error: Optional[ClientError], fetched_at: Optional[float] = None) -> ThresholdResult:
        return ThresholdResult(
            threshold=fallback,
            calibration_id=None,
            index_version=None,
            expected_drop_rate=None,
            reason="uncalibrated" if uncalibrated else "fallback",
            fetched_at=fetched_at if uncalibrated else None,
            error=error,
        )

    def _start_refresh(self, entry: _Entry, now: float, background: bool) -> Optional[threading.Event]:
        """Starts one request for the entry (called with the lock held) unless one runs, the token was refused, or a
        backoff is in force. Returns the event that is set when the request finishes."""
        if self.auth_error is not None:
            return None
        if entry.inflight is not None and now - entry.inflight_started <= self._timeout + 1:
            return entry.inflight
        if entry.inflight is None and now < entry.next_attempt_at:
            return None
        event = threading.Event()
        entry.inflight = event
        entry.inflight_started = now
        threading.Thread(target=self._revalidate, args=(entry, event), name="scoregate-refresh", daemon=True).start()
        return event

    def _revalidate(self, entry: _Entry, event: threading.Event) -> None:
        try:
            g = entry.gate
            params = {"index": g.index, "embedding": g.embedding, "reranker": g.reranker, "index_version": g.index_version}
            query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
            headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
            with self._lock:
                if entry.etag is not None and entry.value is not None:
                    headers["If-None-Match"] = entry.etag
            try:
                status, resp_headers, body = self._http("GET", f"/v1/threshold?{query}", headers, None)
            except _Failed as f:
                with self._lock:
                    self._fail(entry, f.error)
                return
            with self._lock:
                now = self._now()
                if status == 200:
                    if not _is_threshold_response(body):
                        self._fail(entry, ClientError("bad_response", "200 without a threshold body", status))
                        return
                    entry.value = body
                    entry.etag = resp_headers.get("ETag")
                    entry.uncalibrated = False
                    self._confirmed(entry, resp_headers, now)
                elif status == 304 and entry.value is not None:
                    self._confirmed(entry, resp_headers, now)
                else:
                    failure = _describe_failure(status, body, _parse_retry_after(resp_headers.get("Retry-After"), now))
                    if failure.code == "uncalibrated":
                        entry.value = None
                        entry.etag = None
                        entry.uncalibrated = True
                        self._confirmed(entry, resp_headers, now)
                    elif failure.code in ("unauthorized", "forbidden"):
                        entry.last_error = failure
                        if self.auth_error is None:
                            self.auth_error = failure
                            log.error("scoregate: %s (%s): the client stops refreshing; fix the token", failure.code, failure.message)
                    else:
                        self._fail(entry, failure)
        except Exception as e:  # a background thread must not die loudly
            with self._lock:
                self._fail(entry, ClientError("internal", f"{type(e).__name__}: {e}"))
        finally:
            with self._lock:
                if entry.inflight is event:
                    entry.inflight = None
            event.set()

    def _confirmed(self, entry: _Entry, headers: Mapping[str, str], now: float) -> None:
        cc = _parse_cache_control(headers.get("Cache-Control"))
        entry.fetched_at = now
        entry.max_age = cc.get("max-age", THRESHOLD_MAX_AGE_SECONDS)
        entry.stale_if_error = max(
            cc.get("stale-while-revalidate", THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS), cc.get("stale-if-error", THRESHOLD_STALE_IF_ERROR_SECONDS)
        )
        entry.bootstrapped = False
        entry.failures = 0
        entry.next_attempt_at = 0.0
        entry.last_error = None

    def _delay(self, failures: int, retry_after: Optional[float]) -> float:
        initial, cap = self._backoff
        base = min(cap, initial * (2 ** min(failures - 1, 30)))
        delay = base * (0.5 + 0.5 * self._rng())  # jitter: callers that failed together retry apart
        return max(delay, retry_after or 0.0)

    def _fail(self, entry: _Entry, error: ClientError) -> None:
        entry.failures += 1
        entry.last_error = error
        entry.next_attempt_at = self._now() + self._delay(entry.failures, error.retry_after)
        if entry.failures == 1:
            log.warning("scoregate: %s for %s: %s", error.code, entry.gate, error.message)

    def _http(self, method: str, path: str, headers: Dict[str, str], body: Optional[bytes]) -> Tuple[int, Mapping[str, str], Any]:
        req = urllib.request.Request(self._base + path, data=body, headers=headers, method=method)
        try:
            with self._open(req, timeout=self._timeout) as resp:
                status, resp_headers, raw = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            # urllib raises for every status >= 300, a 304 Not Modified included
            status, resp_headers = e.code, e.headers
            try:
                raw = e.read()
            except Exception:
                raw = b""
            finally:
                e.close()
        except (TimeoutError, OSError, urllib.error.URLError) as e:
            reason = getattr(e, "reason", e)
            if isinstance(reason, TimeoutError) or "timed out" in str(reason):
                raise _Failed(ClientError("timeout", f"no answer within {self._timeout} s")) from None
            raise _Failed(ClientError("network", f"{self._base} unreachable: {reason}")) from None
        parsed: Any = None
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        return status, resp_headers, parsed

    # -- snapshots ------------------------------------------------------------------------------------------------

    def snapshot(self) -> Dict[str, Any]:
        """The cache as a JSON-serializable dict (save it to a file for cold starts)."""
        with self._lock:
            entries = [
                {"gate": {k: v for k, v in vars(e.gate).items() if v is not None}, "response": e.value, "etag": e.etag, "fetched_at": e.fetched_at}
                for e in self._entries.values()
                if e.value is not None
            ]
        return {"version": 1, "saved_at": self._now(), "entries": entries}

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Loads a snapshot: its values are served as ``stale`` until the server answers; never replaces a server value."""
        if not isinstance(snapshot, Mapping) or snapshot.get("version") != 1:
            return
        with self._lock:
            for s in snapshot.get("entries") or []:
                try:
                    gate = as_gate(s["gate"])
                except (KeyError, TypeError):
                    continue
                if not _is_threshold_response(s.get("response")):
                    continue
                existing = self._entries.get(gate.key())
                if existing is not None and not existing.bootstrapped and (existing.value is not None or existing.uncalibrated):
                    continue
                e = existing or _Entry(gate=gate)
                e.value = s["response"]
                e.etag = s.get("etag") if isinstance(s.get("etag"), str) else None
                e.fetched_at = float(s.get("fetched_at") or 0)
                e.bootstrapped = True
                self._entries[gate.key()] = e

    # -- gate -----------------------------------------------------------------------------------------------------

    def gate(
        self,
        candidates: Sequence[Any],
        gate: GateLike,
        *,
        fallback: Optional[float],
        score: Union[str, Callable[[Any], Optional[float]]] = "score",
        unscored: str = "keep",
        report: bool = True,
        report_scores: bool = False,
        timeout: Optional[float] = None,
    ) -> GateResult:
        """Keeps candidates with ``score >= threshold`` (None keeps all); ``score`` is a key (dicts, attributes) or a
        function. Reports the query's counts when a calibration produced the threshold. Never raises."""
        g = as_gate(gate)
        t = self.get_threshold(g, fallback, timeout=timeout)
        get = score if callable(score) else (lambda c, k=score: c.get(k) if isinstance(c, Mapping) else getattr(c, k, None))
        kept: List[Any] = []
        dropped: List[Any] = []
        scores: List[float] = []
        n_unscored = 0
        for c in candidates:
            try:
                s = get(c)
            except Exception:
                s = None
            if not isinstance(s, (int, float)) or isinstance(s, bool) or s != s:
                n_unscored += 1
                (dropped if unscored == "drop" and t.threshold is not None else kept).append(c)
                continue
            if report_scores:
                scores.append(float(s))
            (kept if t.threshold is None or s >= t.threshold else dropped).append(c)
        if report and t.calibration_id is not None and len(candidates) > 0:
            self.report(len(candidates), len(dropped), calibration_id=t.calibration_id, scores=scores or None)
        return GateResult(kept, dropped, t.threshold, t.calibration_id, t.reason, t.index_version, n_unscored, t.error)

    # -- observations ---------------------------------------------------------------------------------------------

    def report(
        self,
        candidates: int,
        dropped: int,
        *,
        calibration_id: Optional[str] = None,
        gate: Optional[GateLike] = None,
        scores: Optional[Sequence[float]] = None,
    ) -> None:
        """Queues one query's counts for POST /v1/observations (batched; never raises, never waits). Name the
        calibration you applied (``calibration_id`` of the threshold) or the gate."""
        try:
            self._report(candidates, dropped, calibration_id, gate, scores)
        except Exception:
            log.exception("scoregate: unexpected failure in report")

    def _report(self, candidates: int, dropped: int, calibration_id: Optional[str], gate: Optional[GateLike], scores: Optional[Sequence[float]]) -> None:
        with self._lock:
            valid = (
                isinstance(candidates, int)
                and isinstance(dropped, int)
                and 0 <= dropped <= candidates <= MAX_CANDIDATES_PER_QUERY
                and (calibration_id is not None or gate is not None)
            )
            if self._closed or not valid:
                self._stats.ignored += 1
                return
            if calibration_id is not None:
                target: Dict[str, Any] = {"calibration_id": calibration_id}
            else:
                g = as_gate(gate)  # type: ignore[arg-type]
                target = {k: v for k, v in vars(g).items() if v is not None}
            key = json.dumps(target, sort_keys=True)
            batch = self._groups.get(key)
            if batch is None:
                batch = _Batch(id="", target=target, queries=[])
                self._groups[key] = batch
            batch.queries.append([candidates, dropped])
            if scores:
                room = self._max_scores - len(batch.scores)
                batch.scores.extend(float(s) for s in list(scores)[: max(0, room)] if isinstance(s, (int, float)) and s == s and abs(s) != float("inf"))
            self._stats.queued += 1
            if len(batch.queries) >= self._batch_size:
                self._seal(key)
            self._bound_memory()
            start = self._background and self._flusher is None
            if start:
                self._flusher = threading.Thread(target=self._flush_loop, name="scoregate-flush", daemon=True)
        if start:
            self._flusher.start()  # type: ignore[union-attr]

    def _seal(self, key: str) -> None:
        batch = self._groups.pop(key)
        self._seq += 1
        batch.id = f"{self._client_id}-{self._seq:08d}"[:MAX_BATCH_ID_LENGTH]
        self._sealed.append(batch)

    def _bound_memory(self) -> None:
        excess = self._stats.queued - self._max_queued
        while excess > 0:
            if self._sealed:
                b = self._sealed[0]
            elif self._groups:
                b = next(iter(self._groups.values()))
            else:
                break
            take = min(excess, len(b.queries))
            del b.queries[:take]
            excess -= take
            self._stats.queued -= take
            self._stats.dropped_for_memory += take
            if not b.queries:
                if self._sealed and self._sealed[0] is b:
                    self._sealed.popleft()
                else:
                    self._groups.pop(next(iter(self._groups)))

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._flush_interval):
            if self._now() >= self._obs_next_attempt:
                self.flush()

    def flush(self) -> FlushResult:
        """Sends every queued observation now (one attempt per batch; failures stay queued for a retry with the same
        batch id, so the server counts a batch once)."""
        with self._flush_lock:
            sent = failed = 0
            with self._lock:
                for key in list(self._groups):
                    self._seal(key)
                batches = list(self._sealed)
            for batch in batches:
                if self.auth_error is not None:
                    failed += 1
                    continue
                body: Dict[str, Any] = {"batch_id": batch.id, **batch.target, "queries": batch.queries}
                if batch.scores:
                    body["scores"] = batch.scores
                headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json", "Accept": "application/json"}
                try:
                    status, resp_headers, resp = self._http("POST", "/v1/observations", headers, json.dumps(body).encode())
                    error = None if status in (200, 202) else _describe_failure(status, resp, _parse_retry_after(resp_headers.get("Retry-After"), self._now()))
                except _Failed as f:
                    error = f.error
                with self._lock:
                    if error is None or error.code in ("bad_request", "uncalibrated"):
                        # accepted, or refused for good (retrying the same batch would be refused again)
                        if batch in self._sealed:
                            self._sealed.remove(batch)
                            self._stats.queued -= len(batch.queries)
                            if error is None:
                                self._stats.sent += len(batch.queries)
                            else:
                                self._stats.rejected += len(batch.queries)
                                self._stats.last_error = error
                        if error is None:
                            sent += 1
                            self._obs_failures = 0
                        else:
                            failed += 1
                        continue
                    failed += 1
                    self._stats.last_error = error
                    if error.code in ("unauthorized", "forbidden") and self.auth_error is None:
                        self.auth_error = error
                        log.error("scoregate: %s (%s): observations are kept but not sent; fix the token", error.code, error.message)
                    self._obs_failures += 1
                    self._obs_next_attempt = self._now() + self._delay(self._obs_failures, error.retry_after)
                # the server is failing: leave the rest for the next attempt after the backoff
                failed += len(batches) - batches.index(batch) - 1
                break
            return FlushResult(sent, failed, self.observation_stats())

    def observation_stats(self) -> ObservationStats:
        with self._lock:
            s = self._stats
            return ObservationStats(s.queued, s.sent, s.dropped_for_memory, s.rejected, s.ignored, s.last_error)

    def close(self) -> FlushResult:
        """Flushes once and stops the background thread; later reports are ignored (and counted)."""
        self._stop.set()
        with self._lock:
            self._closed = True
            flusher = self._flusher
        if flusher is not None and flusher is not threading.current_thread():
            flusher.join(timeout=self._timeout + 1)
        return self.flush()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _is_threshold_response(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    t = body.get("threshold")
    return (
        (t is None or (isinstance(t, (int, float)) and not isinstance(t, bool) and t == t and abs(t) != float("inf")))
        and isinstance(body.get("calibration_id"), str)
        and isinstance(body.get("index_version"), str)
        and isinstance(body.get("expected_drop_rate"), (int, float))
    )
