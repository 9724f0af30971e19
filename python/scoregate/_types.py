"""The public value types of both clients (``Client`` and ``AsyncClient``) and the API limits they rely on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

# Limits the API promises; the same values as src/contract/limits.ts (python/tests/test_limits.py checks that).
MAX_OBSERVATION_QUERIES = 10_000
MAX_OBSERVATION_SCORES = 10_000
MAX_CANDIDATES_PER_QUERY = 10_000
MAX_BATCH_ID_LENGTH = 128
THRESHOLD_MAX_AGE_SECONDS = 5
THRESHOLD_STALE_WHILE_REVALIDATE_SECONDS = 60
THRESHOLD_STALE_IF_ERROR_SECONDS = 86_400

#: Why a threshold is what it is (the same words as the TypeScript client's ``reason``).
REASONS = ("calibrated", "cached", "stale", "fallback", "uncalibrated")


@dataclass(frozen=True)
class Gate:
    """A gate as GET /v1/threshold names it; ``index_version`` pins one version (blue/green indexes)."""

    embedding: str
    reranker: str
    index: Optional[str] = None
    index_version: Optional[str] = None

    def key(self) -> Tuple[str, str, str, Optional[str]]:
        # ``is None``, as the TypeScript key's ``??``: index "" is its own gate (the server refuses ``index=``), not the
        # default index, whose value it would otherwise be answered
        return ("default" if self.index is None else self.index, self.embedding, self.reranker, self.index_version)


GateLike = Union[Gate, Mapping[str, Any], Tuple[str, ...]]

#: Why a gate is refused (the TypeScript client's words): ``get_threshold`` and ``gate()`` answer the fallback with this
#: ``bad_request`` error instead of raising or sending a request the server would refuse on every call.
GATE_NEEDS = "the gate needs embedding and reranker strings"


class BadGate(TypeError):
    """A value that is not a gate with ``embedding`` and ``reranker`` strings (``as_gate``)."""


def as_gate(g: GateLike) -> Gate:
    """Accepts a Gate, a dict with embedding/reranker/index/index_version (or ``indexVersion``, as the TypeScript client
    spells it), or a tuple (embedding, reranker[, index[,
    index_version]]). Raises ``BadGate`` (a TypeError) for anything else, an ``embedding`` or ``reranker`` that is not a
    string (None, a number, missing) included."""
    if isinstance(g, Gate):
        gate = g
    elif isinstance(g, Mapping):
        # "indexVersion", the TypeScript client's spelling (a config shared by services in both languages), pins the
        # version too: read as nothing, it would serve the unpinned gate, another index's threshold during a rebuild
        version = g.get("index_version")
        if version is None:
            version = g.get("indexVersion")
        gate = Gate(embedding=g.get("embedding"), reranker=g.get("reranker"), index=g.get("index"), index_version=version)  # type: ignore[arg-type]
    elif isinstance(g, tuple) and 2 <= len(g) <= 4:
        gate = Gate(*g)
    else:
        raise BadGate(f"{GATE_NEEDS}: a gate is Gate(embedding, reranker, index=None, index_version=None), a dict or a tuple")
    if not (isinstance(gate.embedding, str) and isinstance(gate.reranker, str)):
        raise BadGate(GATE_NEEDS)
    return gate


@dataclass
class ClientError:
    """Why an answer is a fallback or stale: timeout, network, unauthorized, forbidden, rate_limited, server_error,
    bad_request, bad_response, uncalibrated, internal, aborted (``AsyncClient``: the request a caller waited for was
    cancelled, its task or its event loop ending, before the server answered), or overloaded (``Client``:
    ``MAX_REQUEST_THREADS`` requests were running, so none was started; nothing was sent)."""

    code: str
    message: str
    #: the HTTP status, when the server answered
    status: Optional[int] = None
    #: seconds the server asked to wait (Retry-After), when it said
    retry_after: Optional[float] = None


@dataclass(frozen=True)
class ClientEvent:
    """What changed in the client's cache, for ``Client.subscribe`` listeners (the TypeScript client's ClientEvent):

    * ``calibration``: the gate now serves another calibration (``calibration_id``, ``previous_calibration_id``,
      ``threshold``), or the server's first word on a value restored from a snapshot;
    * ``uncalibrated``: the server says the gate serves nothing (``error``: its 404, whose message may name the gate
      meant, "did you mean index=docs?"; None for a pushed state);
    * ``error``: the first failure in a row for the gate (``error``), or the refused token that stopped the client
      (``gate`` None when an observation batch met it);
    * ``recovered``: the server answered again after failures, whatever it answered (before the ``calibration`` or
      ``uncalibrated`` event its answer brings);
    * ``gate``: a pushed change of the gate (``event``: its kind, seq and full served state; ``snapshot`` True for the
      gate's current state sent when the stream connects, whose event is its last change, perhaps long past; streaming
      clients only);
    * ``history_restarted``: the gate's stream saw the server's event seq go back (``event``: ``last_seq``, the seq it
      had applied, and ``head_seq``, the server's newest): its history restarted (a reset local state, a restored
      database); the value is stale until the new state arrives, which is then served even with a lower seq
      (streaming clients only).
    """

    type: str
    gate: Optional[Gate]
    calibration_id: Optional[str] = None
    previous_calibration_id: Optional[str] = None
    threshold: Optional[float] = None
    error: Optional[ClientError] = None
    event: Optional[Dict[str, Any]] = None
    snapshot: bool = False


@dataclass(frozen=True)
class Guards:
    """The per-query guards a calibration serves with its threshold (``guards`` of GET /v1/threshold): keep at least
    the top ``min_keep`` scored candidates of every query (all of a shorter one) and at most ``max_keep``.
    ``Guards()`` is no guard: a fallback, an uncalibrated gate, or a server that serves none."""

    min_keep: int = 0
    max_keep: Optional[int] = None


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
    #: the failure that explains a fallback or a stale value; for ``uncalibrated``, the server's 404 (code
    #: ``uncalibrated``), whose message may name the gate meant ("did you mean index=docs?")
    error: Optional[ClientError] = None
    #: applied with the threshold by ``gate()``; no guard for a fallback or an uncalibrated gate
    guards: Guards = Guards()
    #: a query whose top score is below this abstains; None (always for a fallback): never
    abstain_below: Optional[float] = None
    #: only during a guarded promotion: ``{"id", "step", "arm"}``, the arm (``candidate``, ``control`` or
    #: ``unassigned`` without an assignment key) this request was served; the fields above are the arm's
    promotion: Optional[Dict[str, Any]] = None


@dataclass
class GateResult:
    #: the candidates kept, in their input order; empty when the query abstains
    kept: List[Any]
    #: every other candidate, in their input order: all of them when the query abstains
    dropped: List[Any]
    threshold: Optional[float]
    calibration_id: Optional[str]
    reason: str
    index_version: Optional[str]
    unscored: int = 0
    error: Optional[ClientError] = None
    #: True when the query abstains: its top score is below ``abstain_below`` (no good answer; nothing kept)
    abstain: bool = False
    #: why the query abstained (its top score and the cutoff), only when ``abstain`` is True
    abstain_reason: Optional[str] = None
    #: the query's highest score; None when no candidate has one
    top_score: Optional[float] = None
    guards: Guards = Guards()
    abstain_below: Optional[float] = None
    #: during a guarded promotion: the promotion, step and arm the query was served (and reported) under
    promotion: Optional[Dict[str, Any]] = None


@dataclass
class ObservationStats:
    #: queries waiting to be sent (queued, or in a batch awaiting a retry)
    queued: int = 0
    #: queries the server accepted (duplicates included: the server counts a batch id once)
    sent: int = 0
    #: queries dropped to keep memory bounded (oldest first)
    dropped_for_memory: int = 0
    #: queries the server refused for good (4xx other than 429, or a refused token)
    rejected: int = 0
    #: reports ignored: after close(), after a refused token, or invalid
    ignored: int = 0
    last_error: Optional[ClientError] = None


@dataclass
class FlushResult:
    #: batches the server accepted during this flush
    sent_batches: int
    #: batches attempted during this flush that failed (retriable ones stay queued)
    failed_batches: int
    stats: ObservationStats
