"""scoregate: calibrated reranker score gates, served and watched (docs/clients.md#python)."""

from .client import (
    REASONS,
    Client,
    ClientError,
    FlushResult,
    Gate,
    GateResult,
    ObservationStats,
    ThresholdResult,
)

__all__ = ["REASONS", "Client", "ClientError", "FlushResult", "Gate", "GateResult", "ObservationStats", "ThresholdResult"]
__version__ = "0.1.0"
