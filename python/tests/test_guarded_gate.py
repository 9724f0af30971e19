"""The shared guarded-gate vectors (fixtures/guarded-gate.json, format in fixtures/guarded-gate.md) through the Python
clients' ``gate()`` and ``decide_query``; the TypeScript SDK runs the same file (packages/client/test/
guarded-gate.test.ts). Also: a server from before guards reads as no guards, broken guards as a bad response."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import math
import numbers
import unittest
from fractions import Fraction
from pathlib import Path
from typing import Any, Dict, List, Optional

from scoregate import AsyncClient, Client, Gate, Guards, decide_query
from support import OpenerAnswer

FIXTURE = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "guarded-gate.json").read_text(encoding="utf8"))
GATE = Gate("e5", "bge", index="docs")
# a broken body is logged once as a failure; these tests cause that on purpose
logging.getLogger("scoregate").setLevel(logging.CRITICAL)


def decode(s: Any) -> Optional[float]:
    """JSON has no NaN or Infinity: the fixture spells them as strings."""
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(s, s) if isinstance(s, str) else s


def body(threshold: Optional[float], **fields: Any) -> Dict[str, Any]:
    return {
        "index": "docs",
        "embedding": "e5",
        "reranker": "bge",
        "threshold": threshold,
        "calibration_id": "cal_0000000001",
        "index_version": "v1",
        "policy": {"kind": "drop_rate", "target": 0.3},
        "score_scale": "unbounded",
        "expected_drop_rate": 0.3,
        "fitted_at": "2026-01-01T00:00:00.000Z",
        "activated_at": "2026-01-01T00:00:00.000Z",
        **fields,
    }


class Serving:
    """An opener that answers GET /v1/threshold with one body and accepts observation batches, recording their queries."""

    def __init__(self, served: Dict[str, Any]):
        self.data = json.dumps(served).encode()
        self.queries: List[List[int]] = []

    def open(self, req: Any, timeout: float) -> OpenerAnswer:
        headers = http.client.HTTPMessage()
        if "/v1/observations" in req.full_url:
            self.queries.extend(json.loads(req.data)["queries"])
            return OpenerAnswer(202, headers, b'{"queued": false, "accepted": true, "duplicate": false}')
        assert "/v1/threshold" in req.full_url, req.full_url
        headers["Cache-Control"] = "private, max-age=5"
        return OpenerAnswer(200, headers, self.data)


def client_serving(served: Dict[str, Any], cls: Any = Client) -> Any:
    c = cls("https://scoregate.test", "t", opener=Serving(served).open, background=False)
    c.reported = []
    c.report = lambda candidates, dropped, **kw: c.reported.append((candidates, dropped, kw.get("calibration_id"), kw.get("below"), kw.get("abstained")))
    return c


class VectorTests(unittest.TestCase):
    def test_the_fixture_covers_every_clause(self) -> None:
        self.assertEqual(FIXTURE["version"], 1)
        self.assertGreater(len(FIXTURE["cases"]), 50)
        self.assertTrue(any(c["expected"]["abstain"] for c in FIXTURE["cases"]))
        self.assertTrue(any(c["unscored"] == "drop" for c in FIXTURE["cases"]))

    def test_decide_query_reproduces_every_vector(self) -> None:
        for case in FIXTURE["cases"]:
            with self.subTest(case["name"]):
                p = case["policy"]
                scores = [decode(s) for s in case["scores"]]
                d = decide_query(scores, p["threshold"], p["min_keep"], p["max_keep"], p["abstain_below"], case["unscored"])
                want = case["expected"]
                self.assertEqual([i for i, k in enumerate(d.kept) if k], want["kept"])
                self.assertEqual((d.abstain, d.dropped, d.below), (want["abstain"], want["dropped_count"], want["below"]))
                self.assertEqual(d.dropped_scored, want["dropped_scored"])

    def test_gate_reproduces_every_vector_and_reports_the_candidate_gates_drops(self) -> None:
        for case in FIXTURE["cases"]:
            with self.subTest(case["name"]):
                p = case["policy"]
                guards = {"min_keep": p["min_keep"], "max_keep": p["max_keep"]}
                c = client_serving(body(p["threshold"], guards=guards, abstain_below=p["abstain_below"]))
                candidates = [{"i": i, "score": decode(s)} for i, s in enumerate(case["scores"])]
                r = c.gate(candidates, GATE, fallback=0.99, unscored=case["unscored"])
                want = case["expected"]
                self.assertEqual(r.reason, "calibrated")
                self.assertEqual([x["i"] for x in r.kept], want["kept"])
                self.assertEqual([x["i"] for x in r.dropped], want["dropped"])
                self.assertEqual(r.abstain, want["abstain"])
                self.assertEqual(r.abstain_reason is not None, want["abstain"])
                # a guarded or abstaining calibration also reports what the threshold alone drops and the abstention
                guarded = p["min_keep"] > 0 or p["max_keep"] is not None or p["abstain_below"] is not None
                extra = (want["below"], want["abstain"]) if guarded else (None, None)
                if not any(s is None or s == "NaN" for s in case["scores"]):
                    expected_reports = [(len(candidates), want["dropped_count"], "cal_0000000001", *extra)] if candidates else []
                    self.assertEqual(c.reported, expected_reports)

    def test_gate_sends_the_counts_of_every_vector(self) -> None:
        """The query's counts as the batch carries them: with unscored candidates, of the scored ones and the unscored
        apart (``expected.counts``); an empty query is not reported."""
        for case in FIXTURE["cases"]:
            with self.subTest(case["name"]):
                p = case["policy"]
                guards = {"min_keep": p["min_keep"], "max_keep": p["max_keep"]}
                serving = Serving(body(p["threshold"], guards=guards, abstain_below=p["abstain_below"]))
                c = Client("https://scoregate.test", "t", opener=serving.open, background=False)
                candidates = [{"i": i, "score": decode(s)} for i, s in enumerate(case["scores"])]
                c.gate(candidates, GATE, fallback=0.99, unscored=case["unscored"])
                c.close()
                want = case["expected"]["counts"]
                self.assertEqual(serving.queries, [] if want is None else [want])


class GuardTests(unittest.TestCase):
    def test_an_abstaining_query_keeps_nothing_and_says_why(self) -> None:
        c = client_serving(body(0.3, guards={"min_keep": 1, "max_keep": None}, abstain_below=0.5))
        r = c.gate([{"score": 0.31}, {"score": 0.2}, {"score": 0.4}], GATE, fallback=0.1)
        self.assertEqual((r.kept, len(r.dropped), r.abstain, r.top_score), ([], 3, True, 0.4))
        self.assertEqual(r.abstain_reason, "top score 0.4 is below abstain_below 0.5")
        self.assertEqual((r.guards, r.abstain_below), (Guards(1, None), 0.5))
        self.assertEqual(c.reported, [(3, 1, "cal_0000000001", 1, True)])

    def test_the_async_client_applies_the_same_rule(self) -> None:
        async def run() -> Any:
            c = client_serving(body(0.5, guards={"min_keep": 2, "max_keep": 3}, abstain_below=None), AsyncClient)
            try:
                return await c.gate([{"s": 0.1}, {"s": 0.9}, {"s": 0.2}, {"s": 0.8}, {"s": 0.7}, {"s": 0.6}], GATE, fallback=0.1, score="s")
            finally:
                await c.close()

        r = asyncio.run(run())
        self.assertEqual([x["s"] for x in r.kept], [0.9, 0.8, 0.7])
        self.assertFalse(r.abstain)

    def test_a_server_without_the_fields_reads_as_no_guards(self) -> None:
        c = client_serving(body(0.9))
        r = c.gate([{"score": 0.1}, {"score": 0.95}], GATE, fallback=0.1)
        self.assertEqual(([x["score"] for x in r.kept], r.abstain, r.guards, r.abstain_below), ([0.95], False, Guards(), None))
        t = c.get_threshold(GATE, fallback=0.1)
        self.assertEqual((t.threshold, t.guards, t.abstain_below), (0.9, Guards(0, None), None))
        self.assertEqual(c.snapshot()["entries"][0]["response"]["guards"], {"min_keep": 0, "max_keep": None})

    def test_broken_guards_are_a_bad_response_and_the_fallback_applies(self) -> None:
        broken: List[Dict[str, Any]] = [
            {"guards": {"min_keep": -1, "max_keep": None}},
            {"guards": {"min_keep": 1.5, "max_keep": None}},
            {"guards": {"min_keep": 0, "max_keep": 0}},
            {"guards": {"min_keep": 3, "max_keep": 2}},
            {"guards": {"min_keep": True, "max_keep": None}},
            {"guards": "none"},
            {"guards": {"min_keep": 2}},  # max_keep is required (null: no cap)
            {"abstain_below": "0.5"},
        ]
        for fields in broken:
            with self.subTest(fields):
                c = client_serving(body(0.5, **fields))
                r = c.gate([{"score": 0.1}, {"score": 0.6}], GATE, fallback=0.05)
                self.assertEqual((r.reason, r.threshold, r.abstain, r.guards), ("fallback", 0.05, False, Guards()))
                self.assertEqual((r.error.code if r.error else None, len(r.kept)), ("bad_response", 2))
                self.assertEqual(c.reported, [])

    def test_null_guards_and_shadows_read_as_none_as_in_typescript(self) -> None:
        # the TypeScript client reads them with ?? (null as absent): both clients serve such a body alike
        c = client_serving(body(0.5, guards=None, shadows=None))
        t = c.get_threshold(GATE, fallback=0.05)
        self.assertEqual((t.reason, t.threshold, t.guards, t.error), ("calibrated", 0.5, Guards(0, None), None))
        self.assertEqual(c.shadows_for(GATE, "user-1"), [])

    def test_nan_and_infinity_literals_are_not_json_and_the_body_a_bad_response(self) -> None:
        # Python's json.loads reads NaN, Infinity and -Infinity; JavaScript's JSON.parse refuses them, as must we
        for field, value in (("expected_drop_rate", math.nan), ("expected_drop_rate", math.inf), ("abstain_below", -math.inf)):
            with self.subTest(field=field, value=value):
                r = client_serving(body(0.5, **{field: value})).get_threshold(GATE, fallback=0.05)
                self.assertEqual((r.reason, r.threshold, r.error.code if r.error else None), ("fallback", 0.05, "bad_response"))

    def test_a_body_without_a_threshold_is_a_bad_response(self) -> None:
        served = body(0.5)
        del served["threshold"]  # null keeps everything; a missing threshold is a broken body, as in TypeScript
        r = client_serving(served).gate([{"score": 0.1}, {"score": 0.6}], GATE, fallback=0.05)
        self.assertEqual((r.reason, r.threshold, r.error.code if r.error else None), ("fallback", 0.05, "bad_response"))

    def test_whole_floats_are_counts(self) -> None:
        c = client_serving(body(0.9, guards={"min_keep": 1.0, "max_keep": 2.0}))
        t = c.get_threshold(GATE, fallback=0.1)
        self.assertEqual((t.reason, t.guards), ("calibrated", Guards(1, 2)))

    def test_a_fallback_never_abstains_and_applies_no_guard(self) -> None:
        def refuse(req: Any, timeout: float) -> Any:
            raise OSError("connection refused")

        c = Client("https://scoregate.test", "t", opener=refuse, background=False)
        r = c.gate([{"score": 0.01}, {"score": 0.02}], GATE, fallback=0.5)
        self.assertEqual((r.reason, r.kept, r.abstain, r.abstain_below, r.top_score), ("fallback", [], False, None, 0.02))

    def test_report_takes_below_and_abstained_and_ignores_a_below_above_candidates(self) -> None:
        c = Client("https://scoregate.test", "t", opener=Serving(body(0.5)).open, background=False)
        c.report(5, 2, calibration_id="cal_0000000001", below=4, abstained=True)
        c.report(5, 2, calibration_id="cal_0000000001")
        c.report(5, 2, calibration_id="cal_0000000001", below=6)
        stats = c.observation_stats()
        self.assertEqual((stats.queued, stats.ignored), (2, 1))
        self.assertEqual(c._queue._groups[next(iter(c._queue._groups))].queries, [[5, 2, 4, 1], [5, 2]])

    def test_decide_query_refuses_guards_that_break_their_invariants(self) -> None:
        for min_keep, max_keep in ((-1, None), (1.5, None), (0, 0), (3, 2), (True, None)):
            with self.subTest(min_keep=min_keep, max_keep=max_keep):
                with self.assertRaises(ValueError):
                    decide_query([0.5], 0.4, min_keep, max_keep)  # type: ignore[arg-type]


def rollout(candidate: Dict[str, Any], **fields: Any) -> Dict[str, Any]:
    return {"promotion_id": "prm_1", "step": 1, "percent_bp": 10_000, "salt": "prm_1", "state": "running", "candidate": candidate, **fields}


def shadow(**fields: Any) -> Dict[str, Any]:
    return {**body(0.7, calibration_id="cal_00000000s1", index_version="v2"), "sample_rate": 1.0, "since_seq": 3, **fields}


class ServedBodyTests(unittest.TestCase):
    """What a rollout's candidate and a shadow must hold: a served gate's fields, read as the TypeScript client's
    readGate reads them (packages/client/src/threshold-response.ts); whatever else they carry is not theirs to check."""

    def test_a_candidate_or_shadow_is_read_as_a_gate_only(self) -> None:
        candidate = {**body(0.2, calibration_id="cal_00000000c2"), "rollout": "not a rollout", "shadows": 7}
        served = body(0.5, rollout=rollout(candidate), shadows=[shadow(rollout=5, shadows="x")])
        c = client_serving(served)
        t = c.get_threshold(GATE, fallback=0.05, assignment_key="user-1")  # 100 %: every key is in the candidate arm
        self.assertEqual((t.reason, t.calibration_id, t.threshold, t.error), ("calibrated", "cal_00000000c2", 0.2, None))
        self.assertEqual([s["calibration_id"] for s in c.shadows_for(GATE, "user-1")], ["cal_00000000s1"])
        # a key that is not a str takes no shadow and no arm: hashed as its text, every keyless query would share a bucket
        self.assertEqual(c.shadows_for(GATE, None), [])  # type: ignore[arg-type]
        self.assertEqual(c.get_threshold(GATE, fallback=0.05, assignment_key=None).promotion["arm"], "unassigned")  # type: ignore[index]

    def test_whole_float_rollout_counts_are_counts(self) -> None:
        served = json.loads(json.dumps(body(0.5, rollout=rollout(body(0.2, calibration_id="cal_00000000c2")))).replace('"percent_bp": 10000', '"percent_bp": 10000.0').replace('"step": 1', '"step": 1.0'))
        self.assertEqual(served["rollout"]["percent_bp"], 10000.0)  # as a server's JSON may spell it
        t = client_serving(served).get_threshold(GATE, fallback=0.05, assignment_key="user-1")
        self.assertEqual((t.reason, t.calibration_id, t.promotion), ("calibrated", "cal_00000000c2", {"id": "prm_1", "step": 1, "arm": "candidate"}))
        self.assertIs(type(t.promotion["step"]), int)

    def test_broken_rollouts_and_shadows_are_a_bad_response(self) -> None:
        broken: List[Dict[str, Any]] = [
            {"rollout": rollout(body(0.2), percent_bp=2.5)},
            {"rollout": rollout({**body(0.2), "guards": {"min_keep": 1}})},
            {"rollout": rollout(None)},
            {"shadows": [shadow(sample_rate=math.nan)]},
            {"shadows": [shadow(sample_rate=math.inf)]},
            {"shadows": [{**shadow(), "threshold": math.inf}]},
        ]
        for fields in broken:
            with self.subTest(fields):
                r = client_serving(body(0.5, **fields)).get_threshold(GATE, fallback=0.05)
                self.assertEqual((r.reason, r.error.code if r.error else None), ("fallback", "bad_response"))


class Real32:
    """A real number that is neither int nor float, registered as numbers.Real the way numpy registers its scalars:
    what the rule must rank without numpy installed (numpy itself is not a dependency of the package)."""

    def __init__(self, v: float) -> None:
        self.v = v

    def __float__(self) -> float:
        return self.v


numbers.Real.register(Real32)


class RealScoreTests(unittest.TestCase):
    """Scores that are real numbers but not int or float (numpy's float32 from CrossEncoder.predict, Fraction) are
    ranked, thresholded and abstained on like floats; bools, numpy's included, and NaN stay unscored."""

    def check_reals(self, real: Any) -> None:
        scores = [real(0.9), real(0.25), real(0.625)]
        d = decide_query(scores, threshold=0.5, abstain_below=0.95)
        self.assertEqual((d.abstain, d.unscored, d.top_score, d.below, d.dropped), (True, 0, float(real(0.9)), 1, 1))
        self.assertIs(type(d.top_score), float)
        d = decide_query(scores, threshold=0.7, min_keep=2)
        self.assertEqual((d.kept, d.abstain, d.below), ([True, False, True], False, 2))
        d = decide_query([real(0.1), real(0.8), real(0.3)], threshold=0.2, max_keep=1)
        self.assertEqual(d.kept, [False, True, False])

    def test_a_registered_real_is_a_score(self) -> None:
        self.check_reals(Real32)
        self.assertEqual(decide_query([Real32(math.nan), Real32(0.4)], threshold=0.5).unscored, 1)

    def test_a_fraction_is_a_score(self) -> None:
        self.check_reals(lambda v: Fraction(v).limit_denominator(1000))

    def test_numpy_float32_scores_are_scores(self) -> None:
        try:
            import numpy as np  # type: ignore[import-not-found]
        except ImportError:
            self.skipTest("numpy is not installed in this environment (the package does not depend on it); Real32 stands in")
        self.check_reals(np.float32)
        self.check_reals(np.float64)
        d = decide_query([np.float32("nan"), np.bool_(True), True, np.int64(3), np.float16(0.5)], threshold=1.0)
        self.assertEqual((d.unscored, d.kept, d.top_score), (3, [True, True, True, True, False], 3.0))

    def test_gate_thresholds_and_reports_real_scores(self) -> None:
        c = client_serving(body(0.5, guards={"min_keep": 1, "max_keep": None}, abstain_below=None))
        r = c.gate([{"score": Real32(0.25)}, {"score": Real32(0.75)}, {"score": Real32(0.375)}], GATE, fallback=0.1)
        self.assertEqual(([x["score"].v for x in r.kept], r.unscored, r.top_score), ([0.75], 0, 0.75))
        self.assertEqual(c.reported, [(3, 2, "cal_0000000001", 2, False)])

    def test_report_keeps_real_scores_as_floats(self) -> None:
        c = Client("https://scoregate.test", "t", opener=Serving(body(0.5)).open, background=False)
        c.report(3, 1, calibration_id="cal_0000000001", scores=[Real32(0.25), Fraction(3, 4), True, Real32(math.inf)])
        group = c._queue._groups[next(iter(c._queue._groups))]
        self.assertEqual(group.scores, [0.25, 0.75])


class NotANumberTests(unittest.TestCase):
    """What the types forbid but a caller can pass: a score or a fallback that is not a real number is never coerced
    (the TypeScript client's javascript-callers.test.ts checks the same in the SDK)."""

    def test_numeric_strings_are_unscored_kept_by_default_and_never_compared(self) -> None:
        c = client_serving(body(0.1491))
        docs = [{"id": "string-high", "score": "0.9"}, {"id": "string-low", "score": "0.05"}, {"id": "high", "score": 0.5}, {"id": "low", "score": 0.05}]
        r = c.gate(docs, GATE, fallback=0.1)
        self.assertEqual(([d["id"] for d in r.kept], [d["id"] for d in r.dropped], r.unscored), (["string-high", "string-low", "high"], ["low"], 2))
        r = c.gate(docs, GATE, fallback=0.1, unscored="drop")
        self.assertEqual(([d["id"] for d in r.kept], r.unscored), (["high"], 2))
        # float(x) turns them into scores, as the documentation advises
        r = c.gate(docs, GATE, fallback=0.1, score=lambda d: float(d["score"]))
        self.assertEqual(([d["id"] for d in r.kept], r.unscored), (["string-high", "high"], 0))

    def test_a_fallback_that_is_not_a_number_is_none_and_keeps_everything(self) -> None:
        def refuse(req: Any, timeout: float) -> Any:
            raise OSError("connection refused")

        docs = [{"score": 0.9}, {"score": 0.05}]
        for fallback in ("0.1", math.nan, True):
            with self.subTest(fallback=fallback):
                c = Client("https://scoregate.test", "t", opener=refuse, background=False)
                # a str fallback compared with a float raised TypeError from gate() before
                r = c.gate(docs, GATE, fallback=fallback, unscored="drop")  # type: ignore[arg-type]
                self.assertEqual((r.reason, r.threshold, r.kept), ("fallback", None, docs))
                self.assertIsNone(c.get_threshold(GATE, fallback).threshold)  # type: ignore[arg-type]
                c.close()
        c = Client("https://scoregate.test", "t", opener=refuse, background=False)
        self.assertEqual(c.gate(docs, GATE, fallback=0.1).kept, [docs[0]])
        c.close()

    def test_the_async_client_reads_a_fallback_the_same_way(self) -> None:
        def refuse(req: Any, timeout: float) -> Any:
            raise OSError("connection refused")

        async def run() -> Any:
            c = AsyncClient("https://scoregate.test", "t", opener=refuse, background=False)
            try:
                return await c.gate([{"score": 0.9}, {"score": 0.05}], GATE, fallback="0.1")  # type: ignore[arg-type]
            finally:
                await c.close()

        r = asyncio.run(run())
        self.assertEqual((r.threshold, len(r.kept)), (None, 2))


if __name__ == "__main__":
    unittest.main()
