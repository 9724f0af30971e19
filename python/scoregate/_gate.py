"""Applying a served calibration to one query's reranked candidates: the part of ``gate()`` both clients share.

``decide_query`` is the per-query rule of the server and the TypeScript SDK (src/stats/guard-rule.ts in the
repository, stated in words in docs/methods.md, "Guards and abstention"), written again here because this package uses
the standard library only. fixtures/guarded-gate.json pins all three; python/tests/test_guarded_gate.py runs it here:

1. a candidate is scored when its score is a real number other than NaN: an int, a float, or any other
   ``numbers.Real`` such as numpy's ``float32`` (what sentence-transformers' ``CrossEncoder.predict`` returns) or a
   ``Fraction``, compared as a float (infinities count; bools, numpy's included, do not);
2. scored candidates are ranked by score, highest first, equal scores in input order; unscored ones take no rank;
3. when ``abstain_below`` is set and the highest score is below it, the query abstains: nothing is kept (a query
   without a scored candidate never abstains);
4. otherwise the scored candidate of rank r is kept iff r <= max_keep (no cap when None) and (r <= min_keep, or there
   is no threshold, or score >= threshold);
5. unscored candidates are kept, or dropped with ``unscored="drop"`` when the gate drops anything (a threshold or a cap);
   a cap counts them: kept unscored candidates (in input order) fill only the room the scored ones leave, so a query
   never keeps more than ``max_keep`` candidates.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

Score = Union[str, Callable[[Any], Optional[float]]]


def score_value(s: Any) -> Optional[Union[int, float]]:
    """The score as the rule compares it, or None when the candidate is unscored. Any ``numbers.Real`` other than a
    bool counts (numpy registers its scalar types there, ``numpy.bool_`` excepted); a plain int or float is returned
    as it is, an int subclass as its int, any other real (``numpy.float64`` included) as a plain float (beyond the
    float range: an infinity of its sign). NaN, a value whose conversion fails, and everything else: None."""
    if isinstance(s, bool) or not isinstance(s, numbers.Real):
        return None
    if type(s) is int or type(s) is float:
        return s if s == s else None
    if isinstance(s, int):
        return int(s)
    try:
        f = float(s)
    except OverflowError:
        return math.inf if s > 0 else -math.inf
    except Exception:  # a third-party real that cannot be converted: unscored, never raised on the hot path
        return None
    return f if f == f else None


def is_scored(s: Any) -> bool:
    """True when a score takes part in the ranking (``score_value`` is not None)."""
    return score_value(s) is not None


@dataclass(frozen=True)
class QueryDecision:
    """What the rule decides for one query (the same fields as the TypeScript ``decideQuery``)."""

    #: one entry per candidate, in input order: True when it is kept (all False when the query abstains)
    kept: List[bool]
    abstain: bool
    #: the highest score, or None without a scored candidate
    top_score: Optional[float]
    #: candidates the candidate gate drops (unscored ones included), whether or not the query abstains
    dropped: int
    #: scored candidates strictly below the threshold (0 without one)
    below: int
    unscored: int
    #: the scored candidates among ``dropped``: what an observation reports beside its unscored count
    dropped_scored: int = 0


def decide_query(
    scores: Sequence[Any],
    threshold: Optional[float] = None,
    min_keep: int = 0,
    max_keep: Optional[int] = None,
    abstain_below: Optional[float] = None,
    unscored: str = "keep",
) -> QueryDecision:
    """Applies the rule to one query's scores (input order; None, NaN or a non-number: unscored). Raises ValueError for
    guards that break their own invariants (a negative or fractional ``min_keep``, a ``max_keep`` below 1 or below
    ``min_keep``): the client validates what it is served, this is the last line. ``unscored`` other than "keep" or
    "drop" raises ValueError too."""
    if unscored not in ("keep", "drop"):
        raise ValueError(f"decide_query: unscored must be 'keep' or 'drop', not {unscored!r}")
    if not isinstance(min_keep, int) or isinstance(min_keep, bool) or min_keep < 0:
        raise ValueError(f"decide_query: min_keep={min_keep!r}")
    if max_keep is not None and (not isinstance(max_keep, int) or isinstance(max_keep, bool) or max_keep < max(1, min_keep)):
        raise ValueError(f"decide_query: max_keep={max_keep!r} with min_keep={min_keep!r}")
    values = [score_value(s) for s in scores]
    ranked = [i for i, v in enumerate(values) if v is not None]
    # list.sort is stable: equal scores keep their input order
    ranked.sort(key=lambda i: -values[i])  # type: ignore[operator]
    kept = [False] * len(scores)
    for r, i in enumerate(ranked, start=1):
        kept[i] = (max_keep is None or r <= max_keep) and (r <= min_keep or threshold is None or values[i] >= threshold)  # type: ignore[operator]
    drops_unscored = unscored == "drop" and (threshold is not None or max_keep is not None)
    # A cap counts unscored candidates too: they fill, in input order, only the room the scored ones leave.
    room = len(scores) if max_keep is None else max_keep - sum(kept)
    for i, v in enumerate(values):
        if v is None:
            kept[i] = not drops_unscored and room > 0
            room -= kept[i]
    top = values[ranked[0]] if ranked else None
    abstain = abstain_below is not None and top is not None and top < abstain_below
    return QueryDecision(
        kept=[False] * len(scores) if abstain else kept,
        abstain=abstain,
        top_score=top,
        dropped=kept.count(False),
        below=0 if threshold is None else sum(1 for i in ranked if values[i] < threshold),  # type: ignore[operator]
        unscored=len(scores) - len(ranked),
        dropped_scored=sum(1 for i in ranked if not kept[i]),
    )


@dataclass
class Partition:
    kept: List[Any] = field(default_factory=list)
    #: every candidate not kept (all of them when the query abstains)
    dropped: List[Any] = field(default_factory=list)
    #: the scores seen, when asked to report them
    scores: List[float] = field(default_factory=list)
    unscored: int = 0
    abstain: bool = False
    top_score: Optional[float] = None
    #: what the candidate gate dropped, before abstention (what an observation reports)
    dropped_count: int = 0
    #: scored candidates strictly below the threshold (what the threshold alone would drop)
    below: int = 0
    #: the scored candidates among ``dropped_count``
    dropped_scored: int = 0

    def counts(self, n: int, guarded: bool) -> Dict[str, Any]:
        """The ``report()`` arguments for this query of ``n`` candidates (the TypeScript ``countsOf``): the candidate
        gate's drops before abstention; for a guarded or abstaining gate also ``below`` and ``abstained``. Candidates
        without a score are counted apart (``unscored``): the other counts are then of the scored candidates only,
        whatever the unscored mode did with the rest, so a reranker outage does not read as a fall of the drop rate
        (without a guard ``below`` is the scored drops and the query never abstains)."""
        u = self.unscored
        out: Dict[str, Any] = {"candidates": n - u, "dropped": self.dropped_scored}
        if guarded or u > 0:
            out.update(below=self.below, abstained=self.abstain)
        if u > 0:
            out["unscored"] = u
        return out


def partition(
    candidates: Sequence[Any],
    score: Score,
    unscored: str,
    report_scores: bool,
    threshold: Optional[float],
    min_keep: int = 0,
    max_keep: Optional[int] = None,
    abstain_below: Optional[float] = None,
) -> Partition:
    """Splits candidates (in order) by ``decide_query``. ``score`` is a key (dicts, attributes) or a function; a score
    it cannot read is unscored."""
    get = score if callable(score) else (lambda c, k=score: c.get(k) if isinstance(c, Mapping) else getattr(c, k, None))
    values: List[Any] = []
    for c in candidates:
        try:
            values.append(get(c))
        except Exception:
            values.append(None)
    d = decide_query(values, threshold, min_keep, max_keep, abstain_below, unscored)
    out = Partition(
        unscored=d.unscored, abstain=d.abstain, top_score=d.top_score, dropped_count=d.dropped, below=d.below, dropped_scored=d.dropped_scored
    )
    for c, k in zip(candidates, d.kept):
        (out.kept if k else out.dropped).append(c)
    if report_scores:
        out.scores = [float(v) for v in map(score_value, values) if v is not None]
    return out


def score_key_problem(candidates: Sequence[Any], key: str, unscored: str) -> Optional[Tuple[str, str]]:
    """Why a score key leaves candidates unscored, as (kind, sentence), or None: ``"string"`` when some candidates hold
    a string there (never coerced), ``"missing"`` when none of them has the key at all (a typo, or candidates that
    never went through the reranker). The TypeScript adapters' ``scoreKeyProblem`` in Python's words."""
    if not candidates:
        return None
    try:
        return _score_key_problem(candidates, key, unscored)
    except Exception:  # a candidate whose attribute raises: partition() counted it unscored, nothing more to say
        return None


def _score_key_problem(candidates: Sequence[Any], key: str, unscored: str) -> Optional[Tuple[str, str]]:
    values = [c.get(key) if isinstance(c, Mapping) else getattr(c, key, None) for c in candidates]
    fate = "dropped (unscored='drop')" if unscored == "drop" else "kept (unscored='keep')"
    strings = [v for v in values if isinstance(v, str)]
    if strings:
        return (
            "string",
            f"gate(): the score key {key!r} holds a string ({strings[0]!r}) on {len(strings)} of {len(candidates)} candidates: "
            f"scores are never coerced, so those candidates are unscored and {fate}; store numbers",
        )
    has = any((key in c) if isinstance(c, Mapping) else hasattr(c, key) for c in candidates)
    if has:
        return None
    first = candidates[0]
    names = list(first.keys()) if isinstance(first, Mapping) else sorted(k for k in getattr(first, "__dict__", {}) if not k.startswith("_"))
    shown = ", ".join(str(n) for n in names[:10]) or "none"
    return (
        "missing",
        f"gate(): none of the {len(candidates)} candidates has the score key {key!r} (the first one's keys: {shown}): "
        f"every one is unscored and {fate}; check score= (a key, or a function of a candidate)",
    )
