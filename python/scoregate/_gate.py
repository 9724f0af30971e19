"""Applying a threshold to reranked candidates: the part of ``gate()`` both clients share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, List, Mapping, Optional, Sequence, Union

Score = Union[str, Callable[[Any], Optional[float]]]


@dataclass
class Partition:
    kept: List[Any] = field(default_factory=list)
    dropped: List[Any] = field(default_factory=list)
    #: the scores seen, when asked to report them
    scores: List[float] = field(default_factory=list)
    unscored: int = 0


def partition(candidates: Sequence[Any], threshold: Optional[float], score: Score, unscored: str, report_scores: bool) -> Partition:
    """Keeps candidates with ``score >= threshold`` in order (None keeps all). A missing, non-numeric or NaN score is
    unscored: kept, or dropped with ``unscored="drop"`` when there is a threshold. ``score`` is a key (dicts,
    attributes) or a function."""
    get = score if callable(score) else (lambda c, k=score: c.get(k) if isinstance(c, Mapping) else getattr(c, k, None))
    out = Partition()
    for c in candidates:
        try:
            s = get(c)
        except Exception:
            s = None
        if not isinstance(s, (int, float)) or isinstance(s, bool) or s != s:
            out.unscored += 1
            (out.dropped if unscored == "drop" and threshold is not None else out.kept).append(c)
            continue
        if report_scores:
            out.scores.append(float(s))
        (out.kept if threshold is None or s >= threshold else out.dropped).append(c)
    return out
