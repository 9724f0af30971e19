"""scoregate: calibrated reranker score gates, served and watched. ``Client`` for threaded services, ``AsyncClient``
for asyncio services; both standard library only."""

# Defined before the imports below: the HTTP module reads it for the User-Agent header.
__version__ = "0.1.0"

from ._gate import QueryDecision, decide_query  # noqa: E402
from ._types import REASONS, ClientError, ClientEvent, FlushResult, Gate, GateResult, Guards, ObservationStats, ThresholdResult  # noqa: E402
from .aio import AsyncClient  # noqa: E402
from .client import MAX_REQUEST_THREADS, Client  # noqa: E402

__all__ = [
    "MAX_REQUEST_THREADS",
    "REASONS",
    "AsyncClient",
    "Client",
    "ClientError",
    "ClientEvent",
    "FlushResult",
    "Gate",
    "GateResult",
    "Guards",
    "ObservationStats",
    "QueryDecision",
    "ThresholdResult",
    "__version__",
    "decide_query",
]
