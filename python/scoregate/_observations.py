"""Observation batching for POST /v1/observations, shared by both clients (the same rules as the TypeScript client's
packages/client/src/observations.ts): one pending batch per calibration (or gate), sealed when full or
``flush_interval`` old, each with a batch id it keeps across retries (the server counts a batch id once). Memory is
bounded: past ``max_queued`` queries (besides the batch being sent) the oldest are dropped and counted. One send at a
time (``claim``), and a send older than its timeout plus a second is given up for the next (as in TypeScript). No I/O
here: ``sending`` is a generator that yields request bodies and receives their outcomes, so the thread-based and the
asyncio client drive the same loop."""

from __future__ import annotations

import collections
import json
import logging
import math
import numbers
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Generator, List, Mapping, Optional, Sequence, Set, Tuple

from . import _http
from ._types import (
    MAX_BATCH_ID_LENGTH,
    MAX_CANDIDATES_PER_QUERY,
    MAX_OBSERVATION_QUERIES,
    MAX_OBSERVATION_SCORES,
    ClientError,
    GateLike,
    ObservationStats,
    as_gate,
)
from ._gate import score_value
from ._thresholds import LOST_REQUEST_GRACE_SECONDS, Outcome

#: Default queries per batch: the TypeScript client's default (MAX_OBSERVATION_QUERIES is the API's cap).
DEFAULT_BATCH_SIZE = 1000
DEFAULT_MAX_QUEUED = 10_000
DEFAULT_MAX_SCORES = 2000
#: How often a sender waiting for the running send checks whether it is done or lost (seconds)
SEND_POLL_SECONDS = 0.05

log = logging.getLogger("scoregate")


@dataclass
class _Group:
    target: Dict[str, Any]
    created_at: float
    queries: List[List[int]] = field(default_factory=list)
    scores: List[float] = field(default_factory=list)


@dataclass
class Batch:
    id: str
    target: Dict[str, Any]
    queries: List[List[int]]
    scores: List[float]
    next_attempt_at: float = 0.0


class ObservationQueue:
    def __init__(
        self,
        *,
        client_id: str,
        max_queued: int,
        batch_size: int,
        max_scores: int,
        flush_interval: float,
        backoff: Tuple[float, float],
        timeout: float,
        clock: Callable[[], float],
        rng: Callable[[], float],
        stopped: Callable[[], Optional[ClientError]],
        on_auth_error: Callable[[ClientError], None],
    ):
        self._client_id = client_id
        self._max_queued = max(1, max_queued)
        self._batch_size = min(MAX_OBSERVATION_QUERIES, max(1, batch_size))
        self._max_scores = min(MAX_OBSERVATION_SCORES, max(0, max_scores))
        self._interval = flush_interval
        self._backoff = backoff
        self._timeout = timeout
        self._now = clock
        self._rng = rng
        self._stopped = stopped
        self._on_auth_error = on_auth_error
        #: the queue's lock; waiting on it is how a sender waits for the running send to end (``claim_waiting``)
        self._lock = threading.Condition(threading.Lock())
        self._groups: "collections.OrderedDict[str, _Group]" = collections.OrderedDict()
        #: sealed batches awaiting their (next) attempt, oldest first
        self._batches: List[Batch] = []
        self._in_flight: Optional[Batch] = None
        #: the running send's token (``claim``), None when idle; and when its latest request started
        self._sender: Optional[object] = None
        self._sender_at = 0.0
        self._seq = 0
        self._failures = 0
        self._next_attempt_at = 0.0
        #: when a send last stopped on a timeout or a slow failure (None since a success): a flush that waited for that
        #: send tries nothing more (``sending``'s ``since``); a lost send's batch is tried again, as in the TypeScript client
        self._slow_stop_at: Optional[float] = None
        self._stats = ObservationStats()
        #: the kinds of malformed report already logged (each is logged once)
        self._warned: Set[str] = set()
        #: the (HTTP status, server error code, whether it refused a promotion claim) of refused batches already logged
        #: (each is logged once)
        self._refusals_said: Set[Tuple[int, Optional[str], bool]] = set()
        self.closed = False

    def after_fork(self, client_id: str) -> None:
        """In a forked child (``os.register_at_fork``): a new lock (the parent's may have been held by a thread that
        does not exist here), a client id of its own (batch ids made from the parent's would collide with its
        siblings', and the server counts the first body of an id), and an empty queue: what was queued belongs to the
        parent, which sends it (the child sending it too would count the unsealed part twice). Its counts start at 0."""
        self._lock = threading.Condition(threading.Lock())
        self._client_id = client_id
        self._seq = 0
        self._groups.clear()
        self._batches = []
        self._in_flight = None
        self._sender = None
        self._failures = 0
        self._next_attempt_at = 0.0
        self._slow_stop_at = None
        self._stats = ObservationStats()

    def report(
        self,
        candidates: int,
        dropped: int,
        calibration_id: Optional[str],
        gate: Optional[GateLike],
        scores: Optional[Sequence[float]],
        below: Optional[int] = None,
        abstained: Optional[bool] = None,
        promotion: Optional[Mapping[str, Any]] = None,
        role: Optional[str] = None,
        unscored: Optional[int] = None,
    ) -> bool:
        """Queues one query's counts, or counts it as ignored (invalid, closed, or the token was refused). True when it
        filled a batch (which is then due at once). With ``unscored`` above 0 the query is sent as
        ``[candidates, dropped, below, abstained, unscored]`` (``below`` defaulting to ``dropped``); else with ``below`` or
        ``abstained`` (True or False) as ``[candidates, dropped, below, abstained]`` (a guarded or abstaining gate;
        ``below`` again defaulting to ``dropped``), else as ``[candidates, dropped]``."""
        target = _target(None if calibration_id is NOT_GIVEN else calibration_id, gate)
        counts = _count(candidates), _count(dropped), None if below is None else _count(below)
        unscored_count = 0 if unscored is None else _count(unscored)
        claim, claim_misuse = _promotion_claim(promotion, role)
        # read before anything changes: scores that are not a list of numbers ignore the report as a whole (it was
        # queued, then the scores raised: logged as a failure, yet sent, and ``queued`` went below 0)
        values, scores_misuse = _scores_of(scores, self._max_scores)
        misuse = (
            FALLBACK_COUNTS
            if calibration_id is None
            else _misuse(target, counts, below is not None)
            or _unscored_misuse(counts[0], unscored_count)
            or claim_misuse
            or scores_misuse
        )
        if target is not None and role == "shadow":
            target["role"] = "shadow"
        if target is not None and claim is not None:
            # a promotion's arms are separate batches: the monitor counts each arm of each step apart
            target["promotion"] = claim
        warn = False
        with self._lock:
            # the TypeScript client's order: closed, then a refused token (said once when it was refused), then the
            # report's own mistakes
            why = CLOSED if self.closed else None if self._stopped() is not None else misuse
            if self.closed or self._stopped() is not None or misuse is not None:
                self._stats.ignored += 1
                # said once per kind (a hot path calls report() per query: one line, not one per call); a report after
                # close() too, as the TypeScript client's ``closed``: a close() that ran too early (a lifespan ended by
                # a test client, an atexit hook) would otherwise drop every later query without a trace
                if why is not None and why not in self._warned:
                    self._warned.add(why)
                    warn = True
            else:
                return self._queue(target, counts, abstained, values, unscored_count or 0)  # type: ignore[arg-type]  # checked by _misuse
        if warn:
            log.warning(
                "scoregate: report() ignored a query: %s (said once per kind of mistake; observation_stats().ignored "
                "counts every ignored report)",
                why,
            )
        return False

    def _queue(
        self,
        target: Dict[str, Any],
        counts: Tuple[int, int, Optional[int]],
        abstained: Optional[bool],
        scores: List[float],
        unscored: int,
    ) -> bool:
        """Adds one valid query to its group (the caller holds the lock; ``scores``: ``_scores_of``'s finite floats);
        True when it filled a batch."""
        candidates, dropped, below = counts
        key = json.dumps(target, sort_keys=True)
        group = self._groups.get(key)
        if group is None:
            group = _Group(target=target, created_at=self._now())
            self._groups[key] = group
        a = 1 if abstained else 0
        # ``abstained`` given (True or False) without ``below`` keeps the 4-count form (below: dropped): the server's
        # abstention rate counts only the queries that said, so saying it only when True would read 100 %
        counts4 = [candidates, dropped, dropped if below is None else below, a]
        if unscored > 0:
            group.queries.append([*counts4, unscored])
        else:
            group.queries.append([candidates, dropped] if below is None and abstained is None else counts4)
        if scores and self._max_scores > 0:
            group.scores.extend(scores)
            # keep the newest scores: the sample is meant to describe current production
            del group.scores[: max(0, len(group.scores) - self._max_scores)]
        self._stats.queued += 1
        full = len(group.queries) >= self._batch_size
        if full:
            self._seal(key)
        self._bound_memory()
        return full

    def next_due_at(self) -> Optional[float]:
        """When the next batch is due (a group reaches ``flush_interval``, or a retry's backoff ends); None if idle."""
        with self._lock:
            times = [g.created_at + self._interval for g in self._groups.values()] + [b.next_attempt_at for b in self._batches]
            return max(min(times), self._next_attempt_at) if times else None

    def claim(self) -> Optional[object]:
        """The token that lets its holder run ``sending`` (give it back with ``release``), or None while another send
        runs. A send whose request is older than the timeout plus a second is lost (urllib's timeout bounds each socket
        operation, not a whole request: a name lookup or a dripping answer can hold it much longer) and is given up:
        its batch stays queued with its batch id for the new sender, and its answer, whenever it comes, changes
        nothing (the TypeScript client's rule)."""
        with self._lock:
            now = self._now()
            if self._sender is not None and now - self._sender_at <= self._timeout + LOST_REQUEST_GRACE_SECONDS:
                return None
            if self._sender is not None:
                self._in_flight = None  # the lost send's batch is queued like any other now
            self._sender = token = object()
            self._sender_at = now
            return token

    def claim_waiting(self) -> object:
        """``claim``, waiting (blocking the calling thread) while the running send is neither done nor lost."""
        while True:
            token = self.claim()
            if token is not None:
                return token
            with self._lock:
                if self._sender is not None:
                    self._lock.wait(SEND_POLL_SECONDS)

    def release(self, token: object) -> None:
        """Ends the send of ``token`` (nothing when it was given up meanwhile) and wakes the senders waiting."""
        with self._lock:
            if self._sender is token:
                self._sender = None
            self._lock.notify_all()

    def sending(self, force: bool, token: object, since: Optional[float] = None) -> Generator[Dict[str, Any], Outcome, Tuple[int, int]]:
        """Seals due groups (all with ``force``) and yields the body of each batch to send, one at a time, receiving its
        outcome. ``force`` (flush, close) tries every batch once, up to a timeout or a second unanswered one in a row;
        otherwise only due batches, stopping at the first retriable failure. Returns (sent, failed) batches; stops,
        dropping the outcome it received, once its send was given up (``claim``). Run it only with the token of
        ``claim``. ``since``: when the flush began waiting for the running send; when that send stopped on a timeout or a
        slow failure after it, nothing more is tried (the next would fail as slowly, and ``close()``
        would wait two timeouts: the bound is one and a half)."""
        sent = failed = unanswered = 0
        auth: Optional[ClientError] = None
        with self._lock:
            now = self._now()
            for key in [k for k, g in self._groups.items() if force or now - g.created_at >= self._interval]:
                self._seal(key)
            waited_on_slow = since is not None and self._slow_stop_at is not None and self._slow_stop_at >= since
            batches = [] if waited_on_slow else list(self._batches)
        for batch in batches:
            with self._lock:
                if self._stopped() is not None:
                    break
                now = self._now()
                if not force and (now < self._next_attempt_at or now < batch.next_attempt_at):
                    continue
                if batch not in self._batches:
                    continue
                if not batch.queries:
                    self._batches.remove(batch)
                    continue
                if self._sender is not token:
                    break  # given up before its next request
                # copies: the body is serialized in another thread while reports go on
                body: Dict[str, Any] = {"batch_id": batch.id, **batch.target, "queries": list(batch.queries)}
                if batch.scores:
                    body["scores"] = list(batch.scores)
                n = len(batch.queries)
                self._in_flight = batch
                self._sender_at = now
            try:
                outcome = yield body
            finally:
                with self._lock:
                    # a send given up meanwhile no longer owns the flag: the one that replaced it may have set it
                    if self._in_flight is batch and self._sender is token:
                        self._in_flight = None
            # what to log about this outcome, said once the lock is released (a handler may take its time)
            said: Optional[Tuple[Any, ...]] = None
            try:
                with self._lock:
                    if self._sender is not token:
                        break  # given up while its request was out: the sender that replaced it owns the queue
                    unanswered = unanswered + 1 if isinstance(outcome, ClientError) else 0
                    # a failure that took half the timeout or more (an error, a 5xx): the next would take as long
                    slow = self._now() - self._sender_at >= self._timeout / 2
                    error = self._error_of(outcome)
                    if error is None:
                        self._remove(batch, n)
                        self._stats.sent += n
                        self._failures = 0
                        self._next_attempt_at = 0.0
                        self._slow_stop_at = None
                        sent += 1
                        continue
                    failed += 1
                    self._stats.last_error = error
                    if error.code in ("unauthorized", "forbidden"):
                        self._reject_all()  # logged once by the threshold cache, which stops every request
                        auth = error
                        break
                    if not isinstance(outcome, ClientError) and error.code not in ("rate_limited", "server_error"):
                        # 400, 404 uncalibrated, 409, 422: the same batch would be refused again
                        self._remove(batch, n)
                        self._stats.rejected += n
                        said = self._refusal(outcome, error, batch.target, n)
                        continue
                    self._failures += 1
                    if self._failures == 1:
                        # the first failure in a row, as the threshold cache says its own: an outage is one line
                        said = (
                            "scoregate: %s sending observations for %s: %s (the batch stays queued and is retried with "
                            "backoff; said for the first failure in a row)",
                            error.code,
                            _named(batch.target),
                            error.message,
                        )
                    initial, cap = self._backoff
                    t = self._now()
                    delay = _http.backoff_delay(initial, cap, self._failures, self._rng(), error.retry_after)
                    batch.next_attempt_at = t + delay
                    self._next_attempt_at = t + delay
                    # a flush goes on after a fast 5xx or 429 (batches of different gates reach different monitors)
                    # and after one fast network error (a stale keep-alive connection, at shutdown after a long idle),
                    # not after a timeout, a failure (an answer or an error) that took half the timeout or more, or a
                    # second unanswered batch in a row: the next would fail too, and close() would wait about one
                    # timeout per batch
                    slow = slow or error.code == "timeout"
                    if slow:
                        self._slow_stop_at = self._now()
                    if not force or slow or (isinstance(outcome, ClientError) and unanswered > 1):
                        break
            finally:
                if said is not None:
                    log.warning(*said)
        if auth is not None:
            self._on_auth_error(auth)
        return sent, failed

    def stats(self) -> ObservationStats:
        with self._lock:
            s = self._stats
            return ObservationStats(s.queued, s.sent, s.dropped_for_memory, s.rejected, s.ignored, s.last_error)

    # -------------------------------------------------------------------------------------------------------------

    def _refusal(self, outcome: Outcome, error: ClientError, target: Dict[str, Any], n: int) -> Optional[Tuple[Any, ...]]:
        """The WARNING for a batch the server refused for good (called with the lock held), or None when a refusal of
        the same HTTP status and server error code was already said: a service that reports the same mistake on every
        query gets one line, with the server's message (which names the fix), not one per batch."""
        status, _headers, body = outcome  # type: ignore[misc]  # a ClientError is never refused for good
        # a missing promotion claim is its own kind: every refusal is a 422 invalid_input, and an unrelated one said
        # earlier would otherwise hide it
        claim = _refuses_claim(body, error.message)
        key = (status, _http.server_words(body)[0], claim)
        if key in self._refusals_said:
            return None
        self._refusals_said.add(key)
        hint = ""
        if claim:
            hint = (
                "; a promotion arm's counts carry their claim: report(..., promotion=t.promotion), the promotion of the "
                "ThresholdResult (or GateResult) they were gated under, as gate() sends it"
            )
        return (
            "scoregate: the server refused %d queries for %s: %s%s (the batch is dropped, not retried; said once per "
            "HTTP status and error code, and once for a missing promotion claim; observation_stats().rejected counts "
            "every refused query)",
            n,
            _named(target),
            error.message,
            hint,
        )

    def _error_of(self, outcome: Outcome) -> Optional[ClientError]:
        if isinstance(outcome, ClientError):
            return outcome
        status, headers, body = outcome
        if 200 <= status < 300:
            return None
        return _http.describe_failure(status, body, _http.parse_retry_after(headers.get("Retry-After"), self._now()))

    def _seal(self, key: str) -> None:
        group = self._groups.pop(key)
        self._seq += 1
        batch_id = f"{self._client_id}-{self._seq:08d}"[:MAX_BATCH_ID_LENGTH]
        self._batches.append(Batch(batch_id, group.target, group.queries, group.scores))

    def _remove(self, batch: Batch, n: int) -> None:
        if batch in self._batches:
            self._batches.remove(batch)
        self._stats.queued -= n

    def _bound_memory(self) -> None:
        """Drops the oldest queries (sealed batches first, then the oldest groups) beyond max_queued. The batch being
        sent is left alone: its body is already on the wire, and the server may count it."""
        excess = self._stats.queued - (len(self._in_flight.queries) if self._in_flight else 0) - self._max_queued
        for b in list(self._batches):
            if excess <= 0:
                return
            if b is self._in_flight:
                continue
            take = min(excess, len(b.queries))
            del b.queries[:take]
            excess -= take
            self._dropped(take)
            if not b.queries:
                self._batches.remove(b)
        for key, g in list(self._groups.items()):
            if excess <= 0:
                return
            take = min(excess, len(g.queries))
            del g.queries[:take]
            excess -= take
            self._dropped(take)
            if not g.queries:
                del self._groups[key]

    def _dropped(self, n: int) -> None:
        self._stats.dropped_for_memory += n
        self._stats.queued -= n

    def _reject_all(self) -> None:
        """A refused token: nothing queued will ever be accepted by this client."""
        n = sum(len(b.queries) for b in self._batches) + sum(len(g.queries) for g in self._groups.values())
        self._batches.clear()
        self._groups.clear()
        self._stats.rejected += n
        self._stats.queued -= n


def _count(v: Any) -> Optional[int]:
    """A count as a plain int: any ``numbers.Integral`` (numpy's integer types are registered there) but a bool, whose
    counts would be a mistake; None for anything else (a float such as ``3.0`` included: counts are integers)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        return None
    return int(v)


def _misuse(target: Optional[Dict[str, Any]], counts: Tuple[Optional[int], Optional[int], Optional[int]], has_below: bool) -> Optional[str]:
    """What is wrong with a report, in words that name the kind of mistake (the key it is logged once under), or None."""
    candidates, dropped, below = counts
    if target is None:
        return "it names neither a calibration_id nor a valid gate"
    if candidates is None or dropped is None or (has_below and below is None):
        return "candidates, dropped and below must be integers (not bools, floats or strings)"
    if not 0 <= dropped <= candidates:
        return "dropped must be between 0 and candidates"
    if candidates > MAX_CANDIDATES_PER_QUERY:
        return f"candidates must be at most {MAX_CANDIDATES_PER_QUERY}"
    if below is not None and not 0 <= below <= candidates:
        return "below must be between 0 and candidates"
    return None


def _scores_of(scores: Any, max_scores: int) -> Tuple[List[float], Optional[str]]:
    """A report's ``scores`` as the finite floats it samples (every real the gate ranks, numpy's float32 included:
    _gate.score_value; other entries are skipped, as the TypeScript client skips them), at most the newest
    ``max_scores``; or what is wrong with it (the key it is logged once under). None is no scores. A str, bytes or a
    mapping (its characters, byte values or keys are not scores), anything not iterable, and an iterable that raises
    while it is read are mistakes: the report is ignored whole, never half queued."""
    if scores is None:
        return [], None
    said = "scores must be a list (or another iterable) of numbers, or None"
    if isinstance(scores, (str, bytes, bytearray, memoryview, Mapping)):
        return [], f"{said} (got {type(scores).__name__})"
    try:
        items = list(scores)
    except TypeError:
        return [], f"{said} (got {type(scores).__name__})"
    except Exception as e:  # a caller's iterator that fails: its report is ignored, never raised on the hot path
        return [], f"{said}: reading them raised {type(e).__name__}"
    if max_scores <= 0:
        return [], None
    values = (score_value(s) for s in items)
    floats = [float(v) for v in values if v is not None and math.isfinite(v)]
    return floats[max(0, len(floats) - max_scores) :], None


def _unscored_misuse(candidates: Optional[int], unscored: Optional[int]) -> Optional[str]:
    """What is wrong with a report's ``unscored`` count (checked after _misuse), or None."""
    if unscored is None or unscored < 0:
        return "unscored must be a whole number of at least 0 (not a bool, float or string)"
    if candidates is not None and candidates + unscored > MAX_CANDIDATES_PER_QUERY:
        return f"candidates and unscored together must be at most {MAX_CANDIDATES_PER_QUERY}"
    return None


#: The arms of a promotion claim (``ThresholdResult.promotion["arm"]``)
PROMOTION_ARMS = ("candidate", "control", "unassigned")


def _promotion_claim(promotion: Any, role: Optional[str]) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """A report's promotion claim as it is sent (``{id, step, arm}``), or what is wrong with it (the key it is logged
    once under): the ``promotion`` of a ThresholdResult or a GateResult, a mapping with ``id`` a non-empty string,
    ``step`` a whole number of at least 0 and ``arm`` one of ``PROMOTION_ARMS``; never with ``role="shadow"`` (a
    mirrored query belongs to no arm). (None, None) without a claim."""
    if promotion is None:
        return None, None
    said = (
        "promotion must be the promotion of a ThresholdResult or GateResult, a dict with id (a promotion id string), "
        "step (a whole number of at least 0) and arm (candidate, control or unassigned)"
    )
    if not isinstance(promotion, Mapping):
        return None, f"{said}, not a {type(promotion).__name__}"
    pid, step, arm = promotion.get("id"), _count(promotion.get("step")), promotion.get("arm")
    if not (isinstance(pid, str) and pid != "" and step is not None and step >= 0 and isinstance(arm, str) and arm in PROMOTION_ARMS):
        return None, said
    if role == "shadow":
        return None, "a shadow report (role='shadow') belongs to no promotion arm: leave promotion out"
    return {"id": pid, "step": step, "arm": arm}, None


#: A server message about a batch's promotion claim: a missing one ("says so with promotion {id, step, arm}") or a
#: field of it ("promotion.step must be ..."); not one that only mentions promotions ("never a promotion's candidate")
_CLAIM_WORDS = re.compile(r"\bpromotion(?:\.\w|\s*\{)")


def _refuses_claim(body: Any, message: str) -> bool:
    """Does a refusal concern the batch's promotion claim? Its details name the field ``promotion`` (or one of its
    fields), or, from a server that sends no details, its message does."""
    envelope = body.get("error") if isinstance(body, dict) else None
    details = envelope.get("details") if isinstance(envelope, dict) else None
    if isinstance(details, list):
        paths = [d.get("path") for d in details if isinstance(d, dict) and isinstance(d.get("path"), str)]
        if any(p == "promotion" or p.startswith("promotion.") for p in paths):
            return True
    return _CLAIM_WORDS.search(message) is not None


def _named(target: Mapping[str, Any]) -> str:
    """A batch's target in a log line: its calibration (or gate), role and promotion arm."""
    if "calibration_id" in target:
        name = f"calibration {target['calibration_id']}"
    else:
        name = "gate " + " / ".join(str(target[k]) for k in ("index", "embedding", "reranker", "index_version") if k in target)
    if target.get("role") == "shadow":
        name += " (shadow)"
    claim = target.get("promotion")
    if claim is not None:
        name += f" ({claim['arm']} arm of {claim['id']} step {claim['step']})"
    return name


class _NotGiven:
    """The default of ``report(calibration_id=...)``: left out, the gate names where the counts go. ``None``, a fallback
    result's ``calibration_id``, is not reported: counts made at the caller's fallback would reach the live
    calibration's drift monitor and promotion evidence (the TypeScript client's ``calibrationId: null``)."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()

#: the words a report after ``close()`` is ignored with (logged once; the TypeScript client's reason ``closed``)
CLOSED = "closed: close() was called before it, and a closed client sends no observations (thresholds keep working)"
#: the words a report with ``calibration_id=None`` is ignored with (logged once)
FALLBACK_COUNTS = "calibration_id is None: the counts were made at a fallback threshold (leave calibration_id out to report under the gate)"


def _target(calibration_id: Optional[str], gate: Optional[GateLike]) -> Optional[Dict[str, Any]]:
    """The batch target: the calibration applied (preferred: the counts belong to it), else the gate; None if neither."""
    if isinstance(calibration_id, str) and calibration_id != "":
        return {"calibration_id": calibration_id}
    if gate is None:
        return None
    try:
        g = as_gate(gate)
    except (TypeError, KeyError):
        return None
    return {k: v for k, v in vars(g).items() if v is not None}
